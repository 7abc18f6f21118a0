//! Server receive: masked client frames in, messages out, fed in 16 KiB
//! reads. Every library reads the same pre-built bytes.

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use wsproto_benches::peers;
use wsproto_benches::{
    Kind, SIZES, batch, cpu_timed, fragmented_message, masked_messages, payload, size_label,
};

const RECEIVERS: [&str; 5] = [
    "wsproto",
    "wsproto-data",
    "tungstenite",
    "fastwebsockets",
    "tokio-websockets",
];

fn recv(c: &mut Criterion) {
    for kind in [Kind::Binary, Kind::Text] {
        for size in SIZES {
            let count = batch(size);
            let data = payload(kind, size, 1);
            let input = masked_messages(kind, &data, count);
            let mut group = c.benchmark_group(format!("recv/{}/{}", kind.name(), size_label(size)));
            group.throughput(Throughput::Elements(count as u64));
            if size >= 1 << 20 {
                group.sample_size(10);
            }
            for name in RECEIVERS {
                let mut receiver = peers::receiver(name);
                // Every library must deliver every byte before it is timed.
                assert_eq!(receiver.recv(&input, count), count * size, "{name}");
                group.bench_function(BenchmarkId::from_parameter(name), |b| {
                    b.iter_custom(|iters| {
                        cpu_timed(iters, || {
                            std::hint::black_box(receiver.recv(&input, count));
                        })
                    })
                });
            }
            group.finish();
        }
    }
}

/// One 1 MiB text message in 1 KiB fragments, a ping every 64 fragments
/// (answered by each library's automatic pong).
fn fragmented(c: &mut Criterion) {
    let (input, text) = fragmented_message();
    let mut group = c.benchmark_group("recv/fragmented/1MiB-text-1KiB-frames");
    group.throughput(Throughput::Bytes(text.len() as u64));
    for name in RECEIVERS {
        let mut receiver = peers::receiver(name);
        assert_eq!(receiver.recv(&input, 1), text.len(), "{name}");
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter_custom(|iters| {
                cpu_timed(iters, || {
                    std::hint::black_box(receiver.recv(&input, 1));
                })
            })
        });
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
}

criterion_group! { name = benches; config = config(); targets = recv, fragmented }
criterion_main!(benches);
