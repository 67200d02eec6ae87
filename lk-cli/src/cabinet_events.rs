//! The cabinet's handler of Bitrix24 events: its path and the events it
//! subscribes to.

/// The path of lk-web's event handler, after its address.
pub const HANDLER_PATH: &str = "/b24/events";

/// The events the cabinet subscribes to, the same list `lk-web --demo`
/// registers in its emulator (`lk_web::demo::SUBSCRIBED_EVENTS`). lk-cli does
/// not depend on lk-web, so this is a copy; a unit test keeps the two equal.
pub const SUBSCRIBED_EVENTS: [&str; 7] = [
    "ONCRMDEALUPDATE",
    "ONCRMDEALADD",
    "ONCRMDEALDELETE",
    "ONCRMDYNAMICITEMADD",
    "ONCRMDYNAMICITEMUPDATE",
    "ONCRMDYNAMICITEMDELETE",
    "ONCRMINVOICEUPDATE",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_match_lk_web_demo() {
        assert_eq!(SUBSCRIBED_EVENTS, lk_web::demo::SUBSCRIBED_EVENTS);
    }
}
