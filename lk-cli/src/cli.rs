//! The command line: arguments, subcommands and their Russian help.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Arg, ArgAction, Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::exit::EXIT_CODES_HELP;

/// Администрирование личного кабинета клиента: проверка настроек и портала Битрикс24,
/// синхронизация, учётные записи клиентов, очереди событий, эмулятор портала.
#[derive(Debug, Parser)]
#[command(name = "lk-cli", version)]
pub struct Cli {
    /// Файл настроек, тот же, что у lk-web (по умолчанию lk.toml или путь из LK_CONFIG).
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
    #[arg(long, value_name = "ID", value_parser = clap::value_parser!(u64).range(1..))]
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
        hide_default_value = true
    )]
    pub listen: SocketAddr,

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
}
