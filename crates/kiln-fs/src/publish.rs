//! Publishing a directory of outputs as one step a reader cannot see half of.
