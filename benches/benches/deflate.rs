//! permessage-deflate round trips on 1-4 KiB JSON messages with context
//! takeover, against raw miniz_oxide doing the same compressions and
//! inflations. None of tungstenite 0.30, fastwebsockets 0.10 or
//! tokio-websockets 0.13 implements permessage-deflate, so the baseline is
//! the compression library itself.

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use wsproto::Text;
use wsproto_benches::roundtrip::{RawMiniz, WsprotoPair};
use wsproto_benches::{cpu_timed, json_corpus};

fn deflate(c: &mut Criterion) {
    let corpus: Vec<String> = json_corpus(256);
    let texts: Vec<Text> = corpus.iter().map(|s| Text::from(s.as_str())).collect();
    let total: usize = corpus.iter().map(String::len).sum();
    let mut group = c.benchmark_group("deflate/json-roundtrip");
    group.throughput(Throughput::Elements(corpus.len() as u64));

    let mut pair = WsprotoPair::new(true);
    let mut raw = RawMiniz::new();
    let mut plain = WsprotoPair::new(false);
    for (s, t) in corpus.iter().zip(&texts) {
        assert_eq!(pair.round_trip(t), s.len());
        assert_eq!(raw.round_trip(s.as_bytes()), s.len());
        assert_eq!(plain.round_trip(t), s.len());
    }
    eprintln!(
        "deflate corpus: {} messages, {} bytes; wire bytes per round trip: wsproto {}, raw miniz {}, uncompressed {}",
        corpus.len(),
        total,
        pair.wire / corpus.len(),
        raw.wire / corpus.len(),
        plain.wire / corpus.len(),
    );

    group.bench_function(BenchmarkId::from_parameter("wsproto"), |b| {
        b.iter_custom(|iters| {
            cpu_timed(iters, || {
                for t in &texts {
                    std::hint::black_box(pair.round_trip(t));
                }
            })
        })
    });
    group.bench_function(BenchmarkId::from_parameter("miniz_oxide-raw"), |b| {
        b.iter_custom(|iters| {
            cpu_timed(iters, || {
                for s in &corpus {
                    std::hint::black_box(raw.round_trip(s.as_bytes()));
                }
            })
        })
    });
    group.bench_function(BenchmarkId::from_parameter("wsproto-nodeflate"), |b| {
        b.iter_custom(|iters| {
            cpu_timed(iters, || {
                for t in &texts {
                    std::hint::black_box(plain.round_trip(t));
                }
            })
        })
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20)
}

criterion_group! { name = benches; config = config(); targets = deflate }
criterion_main!(benches);
