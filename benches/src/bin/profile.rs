//! Runs one wsproto workload a fixed number of times, for callgrind:
//!
//! ```sh
//! valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*measured*' \
//!     target/release/profile recv-binary 16 200
//! ```
//!
//! Only `measured` is counted, so setup (building the input, the first
//! iteration that grows buffers) stays out of the numbers. Prints the
//! number of units (messages, handshakes, round trips) processed, to
//! divide the instruction count by.

use wsproto::Text;
use wsproto_benches::handshakes::{run_client, run_server};
use wsproto_benches::peers::{self, Receiver, Sender};
use wsproto_benches::roundtrip::{RawMiniz, WsprotoPair};
use wsproto_benches::{Kind, batch, fragmented_message, json_corpus, masked_messages, payload};

#[inline(never)]
fn measured(run: &mut dyn FnMut()) {
    run();
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: profile WORKLOAD [SIZE] [ITERATIONS] [LIBRARY]\n  \
        WORKLOAD: recv-binary recv-text send-binary send-text fragmented \
        handshake-server handshake-client deflate deflate-raw sizes";
    let workload = args.get(1).expect(usage).as_str();
    let size: usize = args.get(2).map_or(1024, |s| s.parse().expect(usage));
    let iterations: u64 = args.get(3).map_or(10, |s| s.parse().expect(usage));
    let lib = args.get(4).map_or("wsproto", String::as_str);
    if workload == "sizes" {
        println!(
            "Event {} Message {} Connection {}",
            std::mem::size_of::<wsproto::Event>(),
            std::mem::size_of::<wsproto::Message>(),
            std::mem::size_of::<wsproto::Connection>()
        );
        return;
    }
    let rt = peers::runtime();
    let units: u64 = match workload {
        "recv-binary" | "recv-text" => {
            let kind = if workload == "recv-text" {
                Kind::Text
            } else {
                Kind::Binary
            };
            let count = batch(size);
            let input = masked_messages(kind, &payload(kind, size, 1), count);
            let mut receiver: Box<dyn Receiver> = peers::receiver(lib);
            receiver.recv(&input, count);
            measured(&mut || {
                for _ in 0..iterations {
                    receiver.recv(&input, count);
                }
            });
            iterations * count as u64
        }
        "send-binary" | "send-text" => {
            let kind = if workload == "send-text" {
                Kind::Text
            } else {
                Kind::Binary
            };
            let count = batch(size);
            let mut sender: Box<dyn Sender> = peers::sender(lib, kind, payload(kind, size, 1));
            sender.send(count);
            measured(&mut || {
                for _ in 0..iterations {
                    sender.send(count);
                }
            });
            iterations * count as u64
        }
        "fragmented" => {
            let (input, _) = fragmented_message();
            let mut receiver = peers::receiver(lib);
            receiver.recv(&input, 1);
            measured(&mut || {
                for _ in 0..iterations {
                    receiver.recv(&input, 1);
                }
            });
            iterations
        }
        "handshake-server" => {
            run_server(lib, &rt, 1);
            measured(&mut || {
                run_server(lib, &rt, iterations);
            });
            iterations
        }
        "handshake-client" => {
            run_client(lib, &rt, 1);
            measured(&mut || run_client(lib, &rt, iterations));
            iterations
        }
        "deflate" | "deflate-raw" => {
            let corpus = json_corpus(256);
            let texts: Vec<Text> = corpus.iter().map(|s| Text::from(s.as_str())).collect();
            if workload == "deflate" {
                let mut pair = WsprotoPair::new(lib != "wsproto-nodeflate");
                texts.iter().for_each(|t| {
                    pair.round_trip(t);
                });
                measured(&mut || {
                    for _ in 0..iterations {
                        texts.iter().for_each(|t| {
                            pair.round_trip(t);
                        });
                    }
                });
            } else {
                let mut raw = RawMiniz::new();
                corpus.iter().for_each(|s| {
                    raw.round_trip(s.as_bytes());
                });
                measured(&mut || {
                    for _ in 0..iterations {
                        corpus.iter().for_each(|s| {
                            raw.round_trip(s.as_bytes());
                        });
                    }
                });
            }
            iterations * corpus.len() as u64
        }
        _ => panic!("{usage}"),
    };
    println!("units {units}");
}
