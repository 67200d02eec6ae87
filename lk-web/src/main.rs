fn main() {
    eprintln!("lk-web: личный кабинет ещё не собран в этой версии");
    std::process::exit(2);
}
