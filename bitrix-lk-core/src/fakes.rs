//! In-memory fakes of the ports, for tests of the layers above.
