//! Client send: encode and mask one message at a time and write it out
//! (to a sink that only counts bytes).

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use wsproto_benches::peers::{self, LIBS};
use wsproto_benches::{Kind, SIZES, batch, cpu_timed, payload, size_label};

fn send(c: &mut Criterion) {
    for kind in [Kind::Binary, Kind::Text] {
        for size in SIZES {
            let count = batch(size);
            let data = payload(kind, size, 1);
            let mut group = c.benchmark_group(format!("send/{}/{}", kind.name(), size_label(size)));
            group.throughput(Throughput::Elements(count as u64));
            if size >= 1 << 20 {
                group.sample_size(10);
            }
            for name in LIBS {
                let mut sender = peers::sender(name, kind, data.clone());
                // Header (2-14 bytes with the mask key) plus payload, per message.
                let written = sender.send(count);
                assert!(written >= count * (size + 6), "{name}: {written}");
                assert!(written <= count * (size + 14), "{name}: {written}");
                group.bench_function(BenchmarkId::from_parameter(name), |b| {
                    b.iter_custom(|iters| {
                        cpu_timed(iters, || {
                            std::hint::black_box(sender.send(count));
                        })
                    })
                });
            }
            group.finish();
        }
    }
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
}

criterion_group! { name = benches; config = config(); targets = send }
criterion_main!(benches);
