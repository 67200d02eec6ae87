//! One module per subcommand, and [`run`] dispatches to them.

mod accounts;
mod check;
mod config_init;
mod emulator;
mod events;
mod outbox;
mod password;
mod provision;
mod sync;

use bitrix_lk_core::DealId;

use crate::cli::{AccountsCommand, Cli, Command, ConfigCommand, EventsCommand, PasswordCommand};
use crate::exit::Exit;

/// Runs the parsed command; an error is printed and classified by the caller.
pub async fn run(cli: Cli) -> anyhow::Result<Exit> {
    let config = cli.config.as_path();
    match cli.command {
        Command::Check => check::run(config).await,
        Command::Sync(args) => sync::run(config, args.full).await,
        Command::Provision(args) => provision::run(config, DealId(args.deal)).await,
        Command::Password(PasswordCommand::Reset(args)) => {
            password::reset(config, DealId(args.deal)).await
        }
        Command::Accounts(AccountsCommand::List) => accounts::list(config).await,
        Command::Events(EventsCommand::List) => events::list(config).await,
        Command::Events(EventsCommand::Retry) => events::retry(config).await,
        Command::Config(ConfigCommand::Init(args)) => {
            let path = args.path.unwrap_or(cli.config);
            config_init::run(&path, args.force)
        }
        Command::Emulator(args) => emulator::run(args).await,
    }
}
