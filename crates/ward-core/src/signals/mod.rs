//! Ad-tech signals: one child's state, written as every string and field an ad stack reads.
//!
//! [`bits`] is the one bit writer and reader; [`tcf`] the IAB TCF v2 TC string.
//!
//! Not for deciding: every bit comes from [`crate::decide`] on the child's state.

pub mod bits;
pub mod tcf;
