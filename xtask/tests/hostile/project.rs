//! Hostile inputs: project.
