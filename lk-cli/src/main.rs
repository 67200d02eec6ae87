fn main() {
    eprintln!("lk-cli: команды ещё не собраны в этой версии");
    std::process::exit(2);
}
