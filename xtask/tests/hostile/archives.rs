//! Hostile inputs: archives.
