//! `termphone ctl`: sends one command and prints the reply, or streams events.
