//! Hostile inputs: kill.
