//! The command line: arguments, subcommands and their Russian help.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Arg, ArgAction, Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use url::Url;

use crate::exit::EXIT_CODES_HELP;

/// Администрирование личного кабинета клиента: проверка настроек и портала Битрикс24,
/// синхронизация, учётные записи клиентов, очереди событий, эмулятор портала.
#[derive(Debug, Parser)]
#[command(name = "lk-cli", version)]
pub struct Cli {
    /// Файл настроек: путь из LK_CONFIG, а без неё по умолчанию lk.toml в текущем каталоге.
    #[arg(
        long,
        global = true,
        env = "LK_CONFIG",
        hide_env = true,
        default_value = "lk.toml",
        hide_default_value = true,
        value_name = "ФАЙЛ"
    )]
    pub config: PathBuf,

    /// Печатать в stderr журнал работы (уровень info). Без этого параметра журнал выключен,
    /// если не задана переменная RUST_LOG (например, RUST_LOG=debug).
    #[arg(short, long, global = true)]
    pub verbose: bool,

    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Проверить настройки и портал Битрикс24: вебхук, поля, воронку, счета.
    ///
    /// Печатает по строке на проверку («✓», «⚠» предупреждение или «✗» с тем, что сделать)
    /// и итог. В Битрикс24 ничего не меняет: вызывает только методы чтения. Код завершения:
    /// 3, если настройки не загружены или адрес вебхука не задан либо неверен; 4, если портал
    /// недоступен или отклонил вебхук; 1, если не пройдена другая проверка.
    Check,
    /// Однократно синхронизировать сделки и счета с Битрикс24 и доставить очереди.
    Sync(SyncArgs),
    /// Создать учётную запись клиента по сделке (если в сделке стоит «Создать ЛК клиенту»).
    Provision(DealArgs),
    /// Пароли клиентов.
    #[command(subcommand)]
    Password(PasswordCommand),
    /// Учётные записи клиентов.
    #[command(subcommand)]
    Accounts(AccountsCommand),
    /// Очереди: входящие события Битрикс24 и записи в Битрикс24.
    #[command(subcommand)]
    Events(EventsCommand),
    /// Файл настроек.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Запустить эмулятор портала Битрикс24 для тестов интегратора (до Ctrl+C).
    Emulator(EmulatorArgs),
}

/// Arguments of `sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Полная синхронизация: все сделки и счета, а не только изменённые с прошлого раза.
    #[arg(long)]
    pub full: bool,
}

/// A deal id argument.
#[derive(Debug, Args)]
pub struct DealArgs {
    /// Номер (ID) сделки в Битрикс24.
    #[arg(long, value_name = "ID", value_parser = parse_deal_id)]
    pub deal: u64,
}

/// Subcommands of `password`.
#[derive(Debug, Subcommand)]
pub enum PasswordCommand {
    /// Выдать клиенту новый пароль: записать его в сделку и показать здесь.
    Reset(DealArgs),
}

/// Subcommands of `accounts`.
#[derive(Debug, Subcommand)]
pub enum AccountsCommand {
    /// Показать учётные записи: сделка, логин, дата создания, последний вход (МСК).
    List,
}

/// Subcommands of `events`.
#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Показать необработанные события и недоставленные записи в Битрикс24.
    List,
    /// Вернуть отложенные записи в очередь и доставить их.
    Retry,
}

/// Subcommands of `config`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Создать файл настроек со значениями фирмы по умолчанию.
    Init(ConfigInitArgs),
}

/// Arguments of `config init`.
#[derive(Debug, Args)]
pub struct ConfigInitArgs {
    /// Куда записать файл (по умолчанию путь из --config).
    #[arg(long, value_name = "ФАЙЛ")]
    pub path: Option<PathBuf>,

    /// Перезаписать существующий файл.
    #[arg(long)]
    pub force: bool,
}

/// Arguments of `emulator`.
#[derive(Debug, Args)]
pub struct EmulatorArgs {
    /// Адрес и порт эмулятора (по умолчанию 127.0.0.1:0, где порт 0 означает любой свободный).
    #[arg(
        long,
        value_name = "АДРЕС",
        default_value = "127.0.0.1:0",
        hide_default_value = true,
        value_parser = parse_listen_address
    )]
    pub listen: SocketAddr,

    /// Адрес обработчика событий кабинета, например http://127.0.0.1:8080/b24/events.
    /// Эмулятор создаёт на него исходящий вебхук на события, которые обрабатывает кабинет,
    /// и печатает токен приложения. Можно указать несколько раз.
    #[arg(long, value_name = "URL", value_parser = parse_handler_url)]
    pub handler: Vec<Url>,

    /// Ограничение частоты запросов, как у облачного тарифа: off — без ограничения,
    /// standard — 2 запроса в секунду и пачка до 50, enterprise — 5 в секунду и пачка до 250
    /// (по умолчанию standard).
    #[arg(
        long,
        value_enum,
        value_name = "ТАРИФ",
        default_value_t = RateLimitArg::Standard,
        hide_default_value = true,
        hide_possible_values = true
    )]
    pub rate_limit: RateLimitArg,

    /// Начальные данные портала: demo или empty (по умолчанию demo).
    #[arg(
        long,
        value_enum,
        value_name = "ДАННЫЕ",
        default_value_t = SeedArg::Demo,
        hide_default_value = true,
        hide_possible_values = true
    )]
    pub seed: SeedArg,
}

/// The data the emulator starts with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SeedArg {
    /// Поля и воронки фирмы с демонстрационными клиентами.
    Demo,
    /// Пустой портал: общая воронка, без полей и сделок.
    Empty,
}

/// The request-rate limit the emulator enforces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RateLimitArg {
    /// Без ограничения.
    Off,
    /// Обычные облачные тарифы: 2 запроса в секунду, пачка до 50.
    Standard,
    /// Тариф «Энтерпрайз»: 5 запросов в секунду, пачка до 250.
    Enterprise,
}

/// Parses a deal id: a positive integer.
fn parse_deal_id(value: &str) -> Result<u64, String> {
    match value.trim().parse::<u64>() {
        Ok(0) => Err("ID сделки — целое число больше нуля, например 42".to_owned()),
        Ok(id) => Ok(id),
        Err(_) => Err("ID сделки — целое число, например 42".to_owned()),
    }
}

/// Parses an IP address with a port.
fn parse_listen_address(value: &str) -> Result<SocketAddr, String> {
    value
        .trim()
        .parse()
        .map_err(|_| "нужны IP-адрес и порт, например 127.0.0.1:8080".to_owned())
}

/// Parses the URL of an event handler: absolute, `http` or `https`.
fn parse_handler_url(value: &str) -> Result<Url, String> {
    const EXAMPLE: &str = "например http://127.0.0.1:8080/b24/events";
    let url = Url::parse(value.trim())
        .map_err(|error| format!("адрес не разобран ({error}); нужен полный адрес, {EXAMPLE}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("нужен адрес http:// или https://, {EXAMPLE}"));
    }
    Ok(url)
}

const HELP_TEMPLATE: &str = "\
{before-help}{about-with-newline}
Использование: {usage}

{all-args}{after-help}";

/// Parses the process arguments with the Russian help.
pub fn parse() -> Result<Cli, clap::Error> {
    let matches = command().try_get_matches()?;
    Cli::from_arg_matches(&matches)
}

/// Returns the command definition with Russian headings, help flags and exit codes.
pub fn command() -> clap::Command {
    let root = Cli::command().disable_version_flag(true).arg(
        Arg::new("version")
            .short('V')
            .long("version")
            .action(ArgAction::Version)
            .help("Показать версию"),
    );
    localize(root)
}

fn localize(command: clap::Command) -> clap::Command {
    command
        .help_template(HELP_TEMPLATE)
        .after_help(EXIT_CODES_HELP)
        .subcommand_help_heading("Команды")
        .subcommand_value_name("КОМАНДА")
        .disable_help_subcommand(true)
        .disable_help_flag(true)
        .arg(
            Arg::new("help")
                .short('h')
                .long("help")
                .action(ArgAction::Help)
                .help("Показать справку"),
        )
        .mut_args(|arg| arg.help_heading("Параметры"))
        .mut_subcommands(localize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definition_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn help_is_russian_with_exit_codes() {
        let help = command().render_help().to_string();

        assert!(help.contains("Использование:"), "{help}");
        assert!(help.contains("Команды:"), "{help}");
        assert!(help.contains("Коды завершения:"), "{help}");
        assert!(!help.contains("Print help"), "{help}");
    }

    #[test]
    fn subcommand_help_is_russian() {
        let mut root = command();
        let sync = root.find_subcommand_mut("sync").unwrap();
        let help = sync.render_help().to_string();

        assert!(help.contains("Параметры:"), "{help}");
        assert!(help.contains("--full"), "{help}");
        assert!(help.contains("Коды завершения:"), "{help}");
    }

    #[test]
    fn deal_id_must_be_positive() {
        let result = command().try_get_matches_from(["lk-cli", "provision", "--deal", "0"]);

        assert!(result.is_err());
    }

    #[test]
    fn deal_id_errors_are_russian() {
        assert_eq!(parse_deal_id("42"), Ok(42));
        assert_eq!(
            parse_deal_id("abc"),
            Err("ID сделки — целое число, например 42".to_owned())
        );
        assert_eq!(
            parse_deal_id("-1"),
            Err("ID сделки — целое число, например 42".to_owned())
        );
        assert_eq!(
            parse_deal_id("0"),
            Err("ID сделки — целое число больше нуля, например 42".to_owned())
        );
    }

    #[test]
    fn handler_url_must_be_http() {
        let parsed = parse_handler_url("http://127.0.0.1:8080/b24/events").unwrap();

        assert_eq!(parsed.as_str(), "http://127.0.0.1:8080/b24/events");
        assert!(parse_handler_url("ftp://host/b24/events").is_err());
        assert!(parse_handler_url("127.0.0.1:8080/b24/events").is_err());
    }

    #[test]
    fn emulator_takes_several_handlers_and_rate_limit() {
        let matches = command()
            .try_get_matches_from([
                "lk-cli",
                "emulator",
                "--handler",
                "http://127.0.0.1:8080/b24/events",
                "--handler",
                "http://127.0.0.1:8081/b24/events",
                "--rate-limit",
                "enterprise",
            ])
            .unwrap();
        let cli = Cli::from_arg_matches(&matches).unwrap();

        let Command::Emulator(args) = cli.command else {
            panic!("parsed as another command: {:?}", cli.command);
        };
        assert_eq!(args.handler.len(), 2);
        assert_eq!(args.rate_limit, RateLimitArg::Enterprise);
    }

    #[test]
    fn emulator_rate_limit_defaults_to_standard() {
        let matches = command()
            .try_get_matches_from(["lk-cli", "emulator"])
            .unwrap();
        let cli = Cli::from_arg_matches(&matches).unwrap();

        let Command::Emulator(args) = cli.command else {
            panic!("parsed as another command: {:?}", cli.command);
        };
        assert!(args.handler.is_empty());
        assert_eq!(args.rate_limit, RateLimitArg::Standard);
    }
}
