//! Opening files of an untrusted project tree.
