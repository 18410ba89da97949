//! Benchmarks for zhili-geo: grid lookups over 10,000 polygons, and coordinate conversion.
//!
//! Run with `cargo bench -p zhili-geo`. Throughput is reported per element (lookups or
//! conversions per second).

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use zhili_geo::{Crs, GridIndex, Lookup, convert};

const SIDE: usize = 100; // 100 × 100 = 10,000 grids
const X0: f64 = 120.0;
const Y0: f64 = 30.0;
const EXTENT: f64 = 0.5; // degrees: 0.5° × 0.5° (~ 48 km × 56 km around Hangzhou)
const BATCH: usize = 10_000;

/// Small deterministic PRNG (xorshift64*), so the bench needs no extra dependency.
struct Rng(u64);
impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A 100 × 100 tiling of perturbed quadrilaterals: the lattice's inner vertices are moved
/// by up to 20 % of a cell, shared between neighbours, so the quads still tile the extent.
fn perturbed_quads() -> Vec<(i64, Vec<(f64, f64)>)> {
    let cell = EXTENT / SIDE as f64;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut lattice = vec![[0.0f64; 2]; (SIDE + 1) * (SIDE + 1)];
    for r in 0..=SIDE {
        for c in 0..=SIDE {
            let inner = r > 0 && r < SIDE && c > 0 && c < SIDE;
            let (dx, dy) = if inner {
                (
                    (rng.next_f64() - 0.5) * 0.4 * cell,
                    (rng.next_f64() - 0.5) * 0.4 * cell,
                )
            } else {
                (0.0, 0.0)
            };
            lattice[r * (SIDE + 1) + c] = [X0 + c as f64 * cell + dx, Y0 + r as f64 * cell + dy];
        }
    }
    let v = |r: usize, c: usize| {
        let p = lattice[r * (SIDE + 1) + c];
        (p[0], p[1])
    };
    let mut grids = Vec::with_capacity(SIDE * SIDE);
    for r in 0..SIDE {
        for c in 0..SIDE {
            let id = (r * SIDE + c) as i64 + 1;
            grids.push((
                id,
                vec![v(r, c), v(r, c + 1), v(r + 1, c + 1), v(r + 1, c), v(r, c)],
            ));
        }
    }
    grids
}

/// A 100 × 100 tiling of plain rectangles.
fn rectangles() -> Vec<(i64, Vec<(f64, f64)>)> {
    let cell = EXTENT / SIDE as f64;
    let mut grids = Vec::with_capacity(SIDE * SIDE);
    for r in 0..SIDE {
        for c in 0..SIDE {
            let (x0, y0) = (X0 + c as f64 * cell, Y0 + r as f64 * cell);
            let (x1, y1) = (X0 + (c + 1) as f64 * cell, Y0 + (r + 1) as f64 * cell);
            grids.push((
                (r * SIDE + c) as i64 + 1,
                vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)],
            ));
        }
    }
    grids
}

fn random_points(n: usize, margin: f64, seed: u64) -> Vec<(f64, f64)> {
    let mut rng = Rng(seed);
    (0..n)
        .map(|_| {
            (
                X0 - margin + rng.next_f64() * (EXTENT + 2.0 * margin),
                Y0 - margin + rng.next_f64() * (EXTENT + 2.0 * margin),
            )
        })
        .collect()
}

fn bench_lookup(c: &mut Criterion) {
    let mut group = c.benchmark_group("grid");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));

    group.throughput(Throughput::Elements(SIDE as u64 * SIDE as u64));
    group.bench_function("build_10k_quads", |b| {
        b.iter_batched(
            perturbed_quads,
            |g| GridIndex::build(black_box(g)).unwrap(),
            BatchSize::LargeInput,
        )
    });

    let quads = GridIndex::build(perturbed_quads()).unwrap();
    let rects = GridIndex::build(rectangles()).unwrap();
    let inside = random_points(BATCH, 0.0, 1);
    // 10 % of the extent's width as margin each side: ~ 28 % of points fall outside,
    // most of them beyond 200 m (→ nearest-grid search, then Outside).
    let mixed = random_points(BATCH, 0.05, 2);
    let summary = |idx: &GridIndex, pts: &[(f64, f64)]| {
        let (mut i, mut b, mut n, mut o) = (0, 0, 0, 0);
        for &(x, y) in pts {
            match idx.lookup(x, y) {
                Lookup::Inside(_) => i += 1,
                Lookup::OnBoundary(..) => b += 1,
                Lookup::Nearest { .. } => n += 1,
                Lookup::Outside => o += 1,
            }
        }
        format!("inside {i}, boundary {b}, nearest {n}, outside {o}")
    };
    eprintln!("quads / random inside: {}", summary(&quads, &inside));
    eprintln!("quads / mixed:         {}", summary(&quads, &mixed));

    group.throughput(Throughput::Elements(BATCH as u64));
    for (name, idx, pts) in [
        ("lookup_10k_quads_inside", &quads, &inside),
        ("lookup_10k_rects_inside", &rects, &inside),
        ("lookup_10k_quads_mixed_28pct_outside", &quads, &mixed),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut hits = 0u64;
                for &(x, y) in pts.iter() {
                    if let Some(id) = idx.lookup(black_box(x), black_box(y)).grid_id() {
                        hits = hits.wrapping_add(id as u64);
                    }
                }
                hits
            })
        });
    }
    group.finish();
}

fn bench_convert(c: &mut Criterion) {
    let mut group = c.benchmark_group("convert");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Elements(BATCH as u64));
    let mut rng = Rng(3);
    // Across China's extent.
    let pts: Vec<(f64, f64)> = (0..BATCH)
        .map(|_| (73.5 + rng.next_f64() * 61.5, 18.0 + rng.next_f64() * 35.5))
        .collect();
    for (name, from, to) in [
        ("wgs84_to_gcj02", Crs::Wgs84, Crs::Gcj02),
        ("gcj02_to_wgs84", Crs::Gcj02, Crs::Wgs84),
        ("gcj02_to_bd09", Crs::Gcj02, Crs::Bd09),
        ("bd09_to_wgs84", Crs::Bd09, Crs::Wgs84),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut acc = 0.0;
                for &p in pts.iter() {
                    let q = convert(black_box(p), from, to);
                    acc += q.0 + q.1;
                }
                acc
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_lookup, bench_convert);
criterion_main!(benches);
