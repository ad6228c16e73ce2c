//! Hostile inputs: network.
