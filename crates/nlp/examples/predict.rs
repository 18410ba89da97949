//! Classify raw texts with a saved model and show why:
//! `cargo run --release -p zhili-nlp --example predict -- MODEL "text" …`.
fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: predict MODEL TEXT…");
        std::process::exit(2);
    };
    let model = match zhili_nlp::Classifier::load_file(&path) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("错误: {e}");
            std::process::exit(1);
        }
    };
    for text in args {
        let p = model.predict(&text);
        println!("{text}");
        for c in &p.top {
            println!("  {:<8} {:.3}", c.label, c.confidence);
        }
        let why: Vec<String> = p
            .evidence
            .iter()
            .map(|e| format!("{} ({:+.3})", e.text, e.weight))
            .collect();
        println!("  依据: {}", why.join("、"));
    }
}
