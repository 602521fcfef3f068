//! Control socket server: a Unix socket (0600 in a 0700 dir), one task per
//! connection, refuses to start when another instance owns the socket.
