//! Socket tests of the transaction layer.
