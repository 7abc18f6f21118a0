//! Ceilings beside the receive numbers: memcpy of the same bytes in the
//! same 16 KiB reads, unmasking (wsproto's loop and the fastest safe loop
//! we could write, in place and fused with the copy), and UTF-8
//! validation (std and simdutf8).

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use wsproto_benches::ceilings::{copy_in_reads, copy_unmask_fast, unmask_fast};
use wsproto_benches::{
    Kind, SIZES, batch, cpu_timed, masked_messages, payload, size_label, text_payload,
};

/// Per payload size, the same batch of messages the receive benchmark
/// uses, so the times compare directly with `recv/binary/<size>`.
fn bytes_ceilings(c: &mut Criterion) {
    for size in SIZES {
        let count = batch(size);
        let data = payload(Kind::Binary, size, 1);
        let input = masked_messages(Kind::Binary, &data, count);
        let payload_total = count * size;
        let mut group = c.benchmark_group(format!("ceiling/{}", size_label(size)));
        group.throughput(Throughput::Elements(count as u64));
        if size >= 1 << 20 {
            group.sample_size(10);
        }
        // glibc's copy (`rep movsb` on CPUs with fast short moves) is many
        // times slower when the destination sits just past the source's
        // offset within a 4 KiB page, so the ceiling copies to the same
        // page offset, and a second row shows the slow case.
        let mut space = vec![0u8; input.len() + 2 * PAGE];
        for (name, shift) in [("memcpy", 0), ("memcpy-dst-page-offset+16", 16)] {
            let dst = page_offset_like(&mut space, &input, shift, input.len());
            group.bench_function(BenchmarkId::from_parameter(name), |b| {
                b.iter_custom(|iters| {
                    cpu_timed(iters, || {
                        copy_in_reads(dst, std::hint::black_box(&input));
                        std::hint::black_box(&mut *dst);
                    })
                })
            });
        }
        let mut buf = vec![0u8; payload_total];
        group.bench_function(BenchmarkId::from_parameter("unmask-wsproto"), |b| {
            b.iter_custom(|iters| {
                cpu_timed(iters, || {
                    for m in buf.chunks_mut(size) {
                        wsproto::frame::apply_mask(m, [0x37, 0xfa, 0x21, 0x3d], 0);
                    }
                })
            })
        });
        group.bench_function(BenchmarkId::from_parameter("unmask-fast"), |b| {
            b.iter_custom(|iters| {
                cpu_timed(iters, || {
                    for m in buf.chunks_mut(size) {
                        unmask_fast(m, [0x37, 0xfa, 0x21, 0x3d], 0);
                    }
                })
            })
        });
        let src = vec![7u8; payload_total];
        group.bench_function(BenchmarkId::from_parameter("copy+unmask-fused"), |b| {
            b.iter_custom(|iters| {
                cpu_timed(iters, || {
                    for (d, s) in buf.chunks_mut(size).zip(src.chunks(size)) {
                        copy_unmask_fast(d, s, [0x37, 0xfa, 0x21, 0x3d]);
                    }
                })
            })
        });
        group.bench_function(BenchmarkId::from_parameter("copy+unmask-wsproto"), |b| {
            b.iter_custom(|iters| {
                cpu_timed(iters, || {
                    for (d, s) in buf.chunks_mut(size).zip(src.chunks(size)) {
                        wsproto::frame::copy_masked(d, s, [0x37, 0xfa, 0x21, 0x3d], 0);
                    }
                })
            })
        });
        group.finish();
    }
}

const PAGE: usize = 4096;

/// `len` bytes of `space` starting at the same offset within a page as
/// `src`, plus `shift`.
fn page_offset_like<'a>(space: &'a mut [u8], src: &[u8], shift: usize, len: usize) -> &'a mut [u8] {
    let gap = (src.as_ptr() as usize).wrapping_sub(space.as_ptr() as usize) % PAGE;
    let start = (gap + shift) % PAGE;
    &mut space[start..start + len]
}

fn utf8(c: &mut Criterion) {
    for size in [125usize, 1 << 10, 64 << 10, 1 << 20] {
        let mixed = text_payload(size, 1).into_bytes();
        let ascii: Vec<u8> = (0..size)
            .map(|i| b"abcdefghij klmnop{}\":,"[i % 22])
            .collect();
        for (name, text) in [("mixed", &mixed), ("ascii", &ascii)] {
            let mut group = c.benchmark_group(format!("utf8/{name}/{}", size_label(size)));
            group.throughput(Throughput::Bytes(size as u64));
            group.bench_function(BenchmarkId::from_parameter("std"), |b| {
                b.iter_custom(|iters| {
                    cpu_timed(iters, || {
                        std::hint::black_box(
                            std::str::from_utf8(std::hint::black_box(text)).is_ok(),
                        );
                    })
                })
            });
            group.bench_function(BenchmarkId::from_parameter("simdutf8"), |b| {
                b.iter_custom(|iters| {
                    cpu_timed(iters, || {
                        std::hint::black_box(
                            simdutf8::basic::from_utf8(std::hint::black_box(text)).is_ok(),
                        );
                    })
                })
            });
            group.finish();
        }
    }
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .sample_size(20)
}

criterion_group! { name = benches; config = config(); targets = bytes_ceilings, utf8 }
criterion_main!(benches);
