//! Wire format of the control socket: request lines in, reply and event lines out.
