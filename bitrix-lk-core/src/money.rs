//! Exact money amounts with a currency.

use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// An exact amount of money in one currency. Never a float.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    /// The amount in major units (roubles), exact.
    pub amount: Decimal,
    /// The ISO 4217 currency code, upper case (`RUB`).
    pub currency: Currency,
}

/// An ISO 4217 currency code such as `RUB`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Currency(pub String);

impl Currency {
    /// Returns the Russian rouble.
    pub fn rub() -> Self {
        Self("RUB".to_owned())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Money {
    /// Builds an amount in the given currency.
    pub fn new(amount: Decimal, currency: Currency) -> Self {
        Self { amount, currency }
    }

    /// Builds an amount in roubles.
    pub fn rub(amount: Decimal) -> Self {
        Self::new(amount, Currency::rub())
    }

    /// Builds zero roubles.
    pub fn zero_rub() -> Self {
        Self::rub(Decimal::ZERO)
    }
}

/// The error of a money text that could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid money value {input:?}: {reason}")]
pub struct MoneyParseError {
    /// The text as given (cut to 64 characters).
    pub input: String,
    /// The reason the text is invalid.
    pub reason: &'static str,
}

impl Money {
    /// Parses an amount as Bitrix24 and people write it.
    ///
    /// Accepts the money user-field form `"150000|RUB"`, plain numbers
    /// (`"150000.50"`), Russian notation with spaces or non-breaking spaces
    /// between thousands and a decimal comma (`"150 000,50"`), a trailing
    /// currency code or sign (`"150 000 ₽"`, `"150000 руб."`) and a leading
    /// minus. Returns `Ok(None)` for an empty or blank text. A text without a
    /// currency is taken in `default_currency`.
    pub fn parse(
        text: &str,
        default_currency: &Currency,
    ) -> Result<Option<Money>, MoneyParseError> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Ok(None);
        }
        let error = |reason| MoneyParseError {
            input: trimmed.chars().take(64).collect(),
            reason,
        };

        let (number_part, currency) =
            split_currency(trimmed).ok_or_else(|| error("unknown currency"))?;
        let currency = currency.unwrap_or_else(|| default_currency.clone());
        if number_part.is_empty() {
            return Ok(None);
        }

        let normalized = normalize_number(number_part).ok_or_else(|| error("not a number"))?;
        let amount: Decimal = normalized.parse().map_err(|_| error("not a number"))?;
        Ok(Some(Money::new(amount, currency)))
    }

    /// Formats the amount the Russian way with two decimals: `150 000,00 ₽`.
    ///
    /// Thousands are separated by plain spaces. Pages keep the figure on one
    /// line with CSS instead of non-breaking spaces, so the text stays easy to
    /// search and compare.
    pub fn format_ru(&self) -> String {
        let rounded = self
            .amount
            .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
        let negative = rounded.is_sign_negative() && !rounded.is_zero();
        let text = format!("{:.2}", rounded.abs());
        let (integer, fraction) = text.split_once('.').unwrap_or((&text, "00"));

        let mut grouped = String::with_capacity(integer.len() + integer.len() / 3);
        for (index, digit) in integer.chars().enumerate() {
            if index > 0 && (integer.len() - index) % 3 == 0 {
                grouped.push(' ');
            }
            grouped.push(digit);
        }

        let sign = if negative { "-" } else { "" };
        let symbol = match self.currency.0.as_str() {
            "RUB" => "₽",
            other => other,
        };
        format!("{sign}{grouped},{fraction} {symbol}")
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.format_ru())
    }
}

/// Splits `"150000|RUB"`, `"150 000 ₽"` or `"150000 руб."` into the number
/// and the currency. Returns `None` for a pipe followed by something that is
/// not a three-letter code.
fn split_currency(text: &str) -> Option<(&str, Option<Currency>)> {
    if let Some((number, code)) = text.split_once('|') {
        let code = code.trim();
        if code.is_empty() {
            return Some((number.trim(), None));
        }
        if code.len() != 3 || !code.chars().all(|c| c.is_ascii_alphabetic()) {
            return None;
        }
        return Some((number.trim(), Some(Currency(code.to_ascii_uppercase()))));
    }

    const ROUBLE_SUFFIXES: [&str; 6] = ["₽", "руб.", "руб", "р.", "RUB", "rub"];
    for suffix in ROUBLE_SUFFIXES {
        if let Some(number) = text.strip_suffix(suffix) {
            return Some((number.trim(), Some(Currency::rub())));
        }
    }
    Some((text, None))
}

/// Turns a human-written number into the plain `-1234.56` form, or `None`
/// when it contains anything but digits, one sign, spaces and separators.
fn normalize_number(text: &str) -> Option<String> {
    let compact: String = text
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\u{2009}' | '\''))
        .collect();
    let (negative, digits) = match compact.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, compact.strip_prefix('+').unwrap_or(&compact)),
    };
    if digits.is_empty()
        || !digits
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == ',')
    {
        return None;
    }
    if !digits.starts_with(|c: char| c.is_ascii_digit())
        || !digits.ends_with(|c: char| c.is_ascii_digit())
    {
        return None;
    }

    let decimal_separator = decimal_separator(digits)?;
    let mut plain = String::with_capacity(digits.len() + 1);
    if negative {
        plain.push('-');
    }
    for c in digits.chars() {
        match c {
            '0'..='9' => plain.push(c),
            c if Some(c) == decimal_separator => plain.push('.'),
            _ => {}
        }
    }
    Some(plain)
}

/// Picks the decimal separator of a number made of digits, dots and commas:
/// with both present the last one is decimal; a separator used more than once
/// groups thousands; a single one is decimal. Returns `Some(None)` for a
/// number without a decimal part and `None` for an impossible mix.
fn decimal_separator(digits: &str) -> Option<Option<char>> {
    let dots = digits.matches('.').count();
    let commas = digits.matches(',').count();
    match (dots, commas) {
        (0, 0) => Some(None),
        (_, 0) if dots > 1 => Some(None),
        (0, _) if commas > 1 => Some(None),
        (1, 0) => Some(Some('.')),
        (0, 1) => Some(Some(',')),
        _ => {
            let last = digits.rfind(['.', ','])?;
            let separator = digits[last..].chars().next()?;
            let count = if separator == '.' { dots } else { commas };
            (count == 1).then_some(Some(separator))
        }
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;
    use rust_decimal::Decimal;

    use super::*;

    fn rub(text: &str) -> Money {
        Money::rub(text.parse::<Decimal>().unwrap())
    }

    #[rstest]
    #[case("150000|RUB", rub("150000"))]
    #[case("150000.50|RUB", rub("150000.50"))]
    #[case("300|usd", Money::new(Decimal::from(300), Currency("USD".into())))]
    #[case("150000", rub("150000"))]
    #[case("150000.50", rub("150000.50"))]
    #[case("150 000,50", rub("150000.50"))]
    #[case("150\u{a0}000,50", rub("150000.50"))]
    #[case("150\u{202f}000", rub("150000"))]
    #[case("1 500 000 ₽", rub("1500000"))]
    #[case("150000 руб.", rub("150000"))]
    #[case("1,500,000.25", rub("1500000.25"))]
    #[case("1.500.000,25", rub("1500000.25"))]
    #[case("0", rub("0"))]
    #[case("-2500,00", rub("-2500.00"))]
    #[case("  42  ", rub("42"))]
    fn money_parses_every_written_form(#[case] text: &str, #[case] expected: Money) {
        assert_eq!(Money::parse(text, &Currency::rub()), Ok(Some(expected)));
    }

    #[rstest]
    #[case("")]
    #[case("   ")]
    #[case("|RUB")]
    fn money_empty_is_none(#[case] text: &str) {
        assert_eq!(Money::parse(text, &Currency::rub()), Ok(None));
    }

    #[rstest]
    #[case("сто тысяч")]
    #[case("12abc")]
    #[case("1.2.3,4,5")]
    #[case("150000|RUBLES")]
    #[case("--5")]
    #[case(".5")]
    #[case("5.")]
    #[case("1e5")]
    #[case("NaN")]
    fn money_garbage_is_error(#[case] text: &str) {
        assert!(
            Money::parse(text, &Currency::rub()).is_err(),
            "{text:?} was accepted"
        );
    }

    #[rstest]
    #[case(rub("150000"), "150 000,00 ₽")]
    #[case(rub("150000.5"), "150 000,50 ₽")]
    #[case(rub("999.999"), "1 000,00 ₽")]
    #[case(rub("0"), "0,00 ₽")]
    #[case(rub("1234567.891"), "1 234 567,89 ₽")]
    #[case(rub("-2500"), "-2 500,00 ₽")]
    #[case(Money::new(Decimal::from(100), Currency("USD".into())), "100,00 USD")]
    fn money_formats_russian_style(#[case] money: Money, #[case] expected: &str) {
        assert_eq!(money.format_ru(), expected);
    }

    proptest::proptest! {
        #[test]
        fn money_parse_never_panics(text in "\\PC{0,40}") {
            let _ = Money::parse(&text, &Currency::rub());
        }

        #[test]
        fn money_format_then_parse_round_trips(cents in -10_000_000_000i64..10_000_000_000i64) {
            let money = Money::rub(Decimal::new(cents, 2));
            let parsed = Money::parse(&money.format_ru(), &Currency::rub()).unwrap().unwrap();
            proptest::prop_assert_eq!(parsed.amount, money.amount);
        }
    }
}
