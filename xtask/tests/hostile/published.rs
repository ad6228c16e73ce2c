//! Hostile inputs: published.
