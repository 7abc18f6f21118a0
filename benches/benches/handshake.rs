//! Opening handshakes, in memory: a browser's request (with a
//! permessage-deflate offer) to a 101 on the server; request out and 101
//! in on the client.

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use wsproto_benches::handshakes::{CLIENT_LIBS, SERVER_LIBS, run_client, run_server};
use wsproto_benches::peers::runtime;
use wsproto_benches::thread_cpu_time;

fn server(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("handshake/server");
    group.throughput(Throughput::Elements(1));
    for name in SERVER_LIBS {
        let written = run_server(name, &rt, 1);
        assert!(written > 100, "{name} wrote {written} bytes");
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter_custom(|iters| {
                let start = thread_cpu_time();
                run_server(name, &rt, iters);
                thread_cpu_time() - start
            })
        });
    }
    group.finish();
}

fn client(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("handshake/client");
    group.throughput(Throughput::Elements(1));
    for name in CLIENT_LIBS {
        run_client(name, &rt, 1);
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter_custom(|iters| {
                let start = thread_cpu_time();
                run_client(name, &rt, iters);
                thread_cpu_time() - start
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

criterion_group! { name = benches; config = config(); targets = server, client }
criterion_main!(benches);
