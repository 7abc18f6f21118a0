//! End-to-end over loopback TCP (127.0.0.1) with tokio: round trips of
//! 32-byte messages, and bursts of 8 x 64 KiB messages echoed back, per
//! library, against raw TCP echoing the same bytes.

use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use wsproto_benches::e2e::{Client, E2E_LIBS, start_server};
use wsproto_benches::{Kind, masked_messages, payload};

fn runtimes() -> (tokio::runtime::Runtime, tokio::runtime::Runtime) {
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("server runtime");
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    (server, client)
}

fn echo(c: &mut Criterion, label: &str, size: usize, burst: usize) {
    let (server_rt, client_rt) = runtimes();
    let data: Bytes = payload(Kind::Binary, size, 9);
    let wire = masked_messages(Kind::Binary, &data, 1);
    let mut group = c.benchmark_group(format!("e2e/{label}"));
    if burst == 1 {
        group.throughput(Throughput::Elements(1));
    } else {
        group.throughput(Throughput::Bytes((size * burst) as u64));
    }
    for name in E2E_LIBS {
        let addr = start_server(&server_rt, name);
        let mut client = client_rt.block_on(Client::connect(name, addr));
        let got = client_rt.block_on(client.burst(&data, &wire, burst));
        assert_eq!(got, size * burst, "{name}");
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter_custom(|iters| {
                client_rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        client.burst(&data, &wire, burst).await;
                    }
                    start.elapsed()
                })
            })
        });
        drop(client);
    }
    group.finish();
}

fn e2e(c: &mut Criterion) {
    echo(c, "roundtrip-32B", 32, 1);
    echo(c, "echo-8x64KiB", 64 << 10, 8);
}

fn config() -> Criterion {
    Criterion::default()
        // Long enough for the new connection's socket buffers to settle.
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
}

criterion_group! { name = benches; config = config(); targets = e2e }
criterion_main!(benches);
