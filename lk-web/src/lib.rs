//! The client cabinet web server (under construction).
