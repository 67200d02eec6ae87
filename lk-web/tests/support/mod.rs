//! Helpers of the browser test: a seeded cabinet on a loopback port and a
//! headless Chromium driven through chromedriver.

pub mod cabinet;
pub mod chrome;
