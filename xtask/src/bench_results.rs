//! What `cargo xtask bench` makes of the runs: criterion's and hyperfine's results read back
//! (std only, so a few lines of JSON reading instead of a parser), and the one table of
//! figures, references, ratios and targets.

use std::fmt::Write as _;
use std::path::Path;

use crate::bench::{CURL, ENTRA_TOKEN, FLOOR_CAT, FLOOR_START, PYTHON, TOKEN_CA_ONLY};
use crate::cmd::Result;

/// The table of `results`, in markdown.
pub(crate) fn summary_table(results: &Results) -> String {
    table(&rows(results))
}

/// Every figure of one suite run: criterion medians (ns) by full id, hyperfine results by
/// command name, and whether the cold-callers test passed.
pub(crate) struct Results {
    pub(crate) criterion: Vec<(String, f64)>,
    pub(crate) hyperfine: Vec<Hyperfine>,
    pub(crate) cold_callers: bool,
}

/// One hyperfine row, in seconds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Hyperfine {
    command: String,
    median: f64,
    user: f64,
    system: f64,
}

impl Results {
    fn ns(&self, id: &str) -> Option<f64> {
        self.criterion
            .iter()
            .find(|(name, _)| name == id)
            .map(|(_, ns)| *ns)
    }

    fn process(&self, command: &str) -> Option<&Hyperfine> {
        self.hyperfine.iter().find(|h| h.command == command)
    }

    fn process_ms(&self, command: &str) -> Option<f64> {
        self.process(command).map(|h| h.median * 1e3)
    }
}

/// A target a figure is held to.
#[derive(Debug, Clone, Copy)]
enum Target {
    /// The figure must be at most this (the unit shown after it).
    AtMost(f64, &'static str),
    /// The figure must be at least this (the unit shown after it).
    AtLeast(f64, &'static str),
    /// Pass/fail (a test).
    Holds,
    /// No target: a floor or context.
    None,
}

/// One line of the table: `value` is what the target applies to (the ratio when there is a
/// reference, else `ours`).
#[derive(Debug, Clone)]
struct Row {
    figure: String,
    ours: String,
    reference: String,
    ratio: String,
    target: String,
    met: String,
}

fn row(
    figure: &str,
    ours: String,
    reference: String,
    ratio: Option<f64>,
    value: Option<f64>,
    target: Target,
) -> Row {
    let (target_text, met) = match target {
        Target::AtMost(limit, unit) => (
            format!("<= {}{unit}", short(limit)),
            value.map(|v| v <= limit),
        ),
        Target::AtLeast(limit, unit) => (
            format!(">= {}{unit}", short(limit)),
            value.map(|v| v >= limit),
        ),
        Target::Holds => ("holds".to_owned(), value.map(|v| v > 0.0)),
        Target::None => ("-".to_owned(), None),
    };
    Row {
        figure: figure.to_owned(),
        ours,
        reference,
        ratio: ratio.map_or_else(|| "-".to_owned(), |r| format!("{r:.2}x")),
        target: target_text,
        met: match (target, met) {
            (Target::None, _) => "-".to_owned(),
            (_, Some(true)) => "met".to_owned(),
            (_, Some(false)) => "NOT met".to_owned(),
            (_, None) => "no figure".to_owned(),
        },
    }
}

/// A number without trailing zeros: 300, 0.5, 1.6.
fn short(value: f64) -> String {
    let text = format!("{value:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

fn ns(value: Option<f64>) -> String {
    value.map_or_else(|| "missing".to_owned(), |v| format!("{v:.0} ns"))
}

fn us(value: Option<f64>) -> String {
    value.map_or_else(|| "missing".to_owned(), |v| format!("{:.1} µs", v / 1e3))
}

fn ms(value: Option<f64>) -> String {
    value.map_or_else(|| "missing".to_owned(), |v| format!("{v:.2} ms"))
}

/// A ratio or a scaling (`1.90x`).
fn times(value: Option<f64>) -> String {
    value.map_or_else(|| "missing".to_owned(), |v| format!("{v:.2}x"))
}

fn ratio(ours: Option<f64>, reference: Option<f64>) -> Option<f64> {
    Some(ours? / reference?)
}

/// Calls per second of 2 threads over 1 thread's, from the per-call times on each thread.
fn scaling(results: &Results, name: &str) -> Option<f64> {
    let one = results.ns(&format!("entra_cache_hit_threads/{name}/1_threads"))?;
    let two = results.ns(&format!("entra_cache_hit_threads/{name}/2_threads"))?;
    Some(2.0 * one / two)
}

/// The Entra credentials whose cache hit is measured, as the bench names them.
const ENTRA_CREDENTIALS: [&str; 3] = [
    "InteractiveBrowserBrokerCredential",
    "DeviceCodeCredential",
    "SharedTokenCacheCredential",
];

/// A credential's hit: alone; against azure_identity's, in paired rounds (the verdict) and as
/// criterion's two figures (context); and on two threads, likewise.
fn hit_rows(r: &Results, name: &str, theirs: Option<f64>, theirs_scaling: Option<f64>) -> [Row; 5] {
    let hit = r.ns(&format!("entra_cache_hit/{name}"));
    let scaling = scaling(r, name);
    [
        row(
            &format!("Entra cache hit, `{name}` as `dyn TokenCredential`"),
            ns(hit),
            "-".into(),
            None,
            hit,
            Target::AtMost(300.0, " ns"),
        ),
        paired_row_of(
            r,
            &HITS_PAIRED,
            &format!("paired rounds: Entra cache hit, `{name}` vs azure_identity `ClientSecretCredential` (cached), median of per-round ratios"),
            name,
            Target::AtMost(0.5, "x"),
        ),
        row(
            &format!("Entra cache hit, `{name}` vs azure_identity `ClientSecretCredential` (cached) (criterion, one after the other)"),
            ns(hit),
            ns(theirs),
            ratio(hit, theirs),
            None,
            Target::None,
        ),
        paired_scaling_row(r, name),
        row(
            &format!("Entra cache hit, `{name}`, calls/s of 2 threads / 1 thread (azure_identity's as reference) (criterion, one after the other)"),
            times(scaling),
            times(theirs_scaling),
            None,
            None,
            Target::None,
        ),
    ]
}

/// A credential's calls per second on two threads over one thread's, from the paired rounds of
/// one against the other: 2 divided by the median per-round ratio of their per-call times, with
/// the quartiles likewise; azure_identity's the same way as the reference.
fn paired_scaling_row(r: &Results, name: &str) -> Row {
    let of = |name: &str, figure: &str| {
        r.ns(&format!(
            "{}/{name}/2_threads/{figure}",
            THREADS_PAIRED.name
        ))
        .filter(|ratio| *ratio > 0.0)
        .map(|ratio| 2.0 / ratio)
    };
    let scaling = of(name, "ratio_median");
    // The ratio's upper quartile is the scaling's lower one.
    let ours = match (of(name, "ratio_p75"), of(name, "ratio_p25")) {
        (Some(low), Some(high)) => format!("{} (quartiles {low:.2}-{high:.2})", times(scaling)),
        _ => times(scaling),
    };
    row(
        &format!("paired rounds: Entra cache hit, `{name}`, calls/s of 2 threads / 1 thread (azure_identity's as reference), median of per-round ratios"),
        ours,
        times(of(THEIRS, "ratio_median")),
        None,
        scaling,
        Target::AtLeast(1.6, "x"),
    )
}

/// A row of the refresh grant's paired rounds: the variant's median per call against the bare
/// POST's, and the median of the per-round ratios with its quartiles.
fn paired_row(r: &Results, figure: &str, variant: &str, target: Target) -> Row {
    paired_row_of(r, &REFRESH_PAIRED, figure, variant, target)
}

/// A row of `measurement`'s paired rounds: `variant`'s median per call against the reference
/// variant's (the first), and the median of the per-round ratios with its quartiles.
fn paired_row_of(
    r: &Results,
    measurement: &Measurement,
    figure: &str,
    variant: &str,
    target: Target,
) -> Row {
    let name = measurement.name;
    let get = |variant: &str, figure: &str| r.ns(&format!("{name}/{variant}/{figure}"));
    let ratio = get(variant, "ratio_median");
    let quartiles = get(variant, "ratio_p25").zip(get(variant, "ratio_p75"));
    let time = measurement.time;
    let ours = match quartiles {
        Some((low, high)) => format!(
            "{} (ratio quartiles {low:.2}-{high:.2})",
            time(get(variant, "median_ns"))
        ),
        None => time(get(variant, "median_ns")),
    };
    row(
        figure,
        ours,
        time(get(measurement.variants[0], "median_ns")),
        ratio,
        ratio,
        target,
    )
}

/// A row of the instruction counts: the variant's instructions per call against the bare
/// POST's. Instructions are not time: the targets are judged on the CPU figures.
fn instruction_row(r: &Results, figure: &str, variant: &str) -> Row {
    let name = REFRESH_INSTRUCTIONS.name;
    let get = |variant: &str, figure: &str| r.ns(&format!("{name}/{variant}/{figure}"));
    let count = |variant: &str| {
        get(variant, "per_call")
            .map_or_else(|| "missing".to_owned(), |n| format!("{n:.0} instructions"))
    };
    let ratio = get(variant, "ratio");
    row(
        figure,
        count(variant),
        count("bare_reqwest_post"),
        ratio,
        ratio,
        Target::None,
    )
}

/// azure_identity's miss against the bare POST of its own grant's form: the quotient of their
/// two `figure`s (ratios to the refresh grant's bare POST) in `measurement`.
fn own_floor_row(r: &Results, measurement: &Measurement, figure: &str, text: &str) -> Row {
    let name = measurement.name;
    let get = |variant: &str| r.ns(&format!("{name}/{variant}/{figure}"));
    let (theirs, floor) = (get(THEIR_MISS), get(BARE_CLIENT_CREDENTIALS));
    let quotient = ratio(theirs, floor);
    row(
        text,
        times(theirs),
        times(floor),
        quotient,
        quotient,
        Target::None,
    )
}

fn rows(r: &Results) -> Vec<Row> {
    let hit_theirs = r.ns("entra_cache_hit/azure_identity_ClientSecretCredential");
    let theirs_scaling = scaling(r, "azure_identity_ClientSecretCredential");
    let floor = r
        .ns("entra_cache_hit_floor/SystemClock::coarse_unix_nanos")
        .zip(r.ns("entra_cache_hit_floor/AccessToken::clone"))
        .map(|(clock, clone)| clock + clone);
    let refresh =
        r.ns("entra_refresh_grant_tls_client_cpu/InteractiveBrowserBrokerCredential::get_token");
    let refresh_bare = r.ns("entra_refresh_grant_tls_client_cpu/bare_reqwest_post");
    let refresh_floor = r.ns("entra_refresh_grant_tls_client_cpu/azure_core_pipeline_post");
    let refresh_read =
        r.ns("entra_refresh_grant_tls_client_cpu/azure_core_pipeline_post_and_parse");
    let refresh_endpoint = r.ns("entra_refresh_grant_tls_client_cpu/token_endpoint_refresh_grant");
    let mr_cached = r.ns("cached/TokenCredential::get_token");
    let mr_floor = r
        .ns("floor/SystemClock::coarse_unix_nanos")
        .zip(r.ns("floor/AccessToken::clone"))
        .map(|(clock, clone)| clock + clone);
    let mr_uncached = r.ns("uncached_exchange_tls_client_cpu/MixedRealityStsClient::get_token");
    let mr_bare = r.ns("uncached_exchange_tls_client_cpu/bare_reqwest_get");
    let entra_token = r.process_ms(ENTRA_TOKEN);
    let python = r.process_ms(PYTHON);
    let start = r.process_ms(FLOOR_START);
    let cat = r.process_ms(FLOOR_CAT);
    let one_shot = r.process_ms(TOKEN_CA_ONLY);
    let curl = r.process_ms(CURL);
    let emulator = r.ns("emulator/tokens_over_tls_32_connections");
    let dbus = r.ns("linux_broker/silent_token_over_dbus");
    let mut rows: Vec<Row> = ENTRA_CREDENTIALS
        .iter()
        .flat_map(|name| hit_rows(r, name, hit_theirs, theirs_scaling))
        .collect();
    rows.extend([
        row(
            "floor of a hit: coarse clock read + `AccessToken` clone (same token)",
            ns(floor),
            "-".into(),
            None,
            None,
            Target::None,
        ),
        row(
            "refresh grant over TLS at the token endpoint alone (`test_util::RefreshGrant`), client CPU, vs bare reqwest POST (criterion, one after the other)",
            us(refresh_endpoint),
            us(refresh_bare),
            ratio(refresh_endpoint, refresh_bare),
            None,
            Target::None,
        ),
        row(
            "refresh grant over TLS through the credential (`get_token` for a new scope: cache miss, account, store), client CPU, vs bare reqwest POST (criterion, one after the other)",
            us(refresh),
            us(refresh_bare),
            ratio(refresh, refresh_bare),
            None,
            Target::None,
        ),
        row(
            "floor of the refresh grant: the same POST through a bare `azure_core` pipeline, vs bare reqwest POST",
            us(refresh_floor),
            us(refresh_bare),
            ratio(refresh_floor, refresh_bare),
            None,
            Target::None,
        ),
        row(
            "refresh grant through the credential, client CPU, vs that bare `azure_core` pipeline POST",
            us(refresh),
            us(refresh_floor),
            ratio(refresh, refresh_floor),
            None,
            Target::None,
        ),
        row(
            "floor with the answer read: that pipeline POST + the response, id token and client info parsed (serde, typed), vs bare reqwest POST",
            us(refresh_read),
            us(refresh_bare),
            ratio(refresh_read, refresh_bare),
            None,
            Target::None,
        ),
        row(
            "refresh grant at the token endpoint alone, client CPU, vs that floor with the answer read",
            us(refresh_endpoint),
            us(refresh_read),
            ratio(refresh_endpoint, refresh_read),
            None,
            Target::None,
        ),
        row(
            "refresh grant through the credential, client CPU, vs that floor with the answer read",
            us(refresh),
            us(refresh_read),
            ratio(refresh, refresh_read),
            None,
            Target::None,
        ),
        paired_row(
            r,
            "paired rounds: the token endpoint alone vs bare reqwest POST, median of per-round ratios",
            "token_endpoint_refresh_grant",
            Target::AtMost(1.3, "x"),
        ),
        paired_row(
            r,
            "paired rounds: through the credential (`get_token` cache miss) vs bare reqwest POST, median of per-round ratios",
            "InteractiveBrowserBrokerCredential::get_token",
            Target::AtMost(1.3, "x"),
        ),
        paired_row(
            r,
            "paired rounds: floor, bare `azure_core` pipeline POST vs bare reqwest POST",
            "azure_core_pipeline_post",
            Target::None,
        ),
        paired_row(
            r,
            "paired rounds: floor with the answer read vs bare reqwest POST",
            "azure_core_pipeline_post_and_parse",
            Target::None,
        ),
        paired_row(
            r,
            "paired rounds: floor of a bounded call (that, within a tokio timeout) vs bare reqwest POST",
            "azure_core_pipeline_post_and_parse_bounded",
            Target::None,
        ),
        paired_row(
            r,
            "paired rounds, reference: azure_identity's `ClientSecretCredential` cache miss (client credentials grant; no refresh token, id token or client info to read) vs bare reqwest POST",
            THEIR_MISS,
            Target::None,
        ),
        paired_row(
            r,
            "paired rounds, reference's own floor: bare reqwest POST of the client credentials form vs bare reqwest POST",
            BARE_CLIENT_CREDENTIALS,
            Target::None,
        ),
        own_floor_row(
            r,
            &REFRESH_PAIRED,
            "ratio_median",
            "paired rounds: azure_identity's miss vs the bare POST of its own form (quotient of the two medians above)",
        ),
        instruction_row(
            r,
            "instructions per call (callgrind): the token endpoint alone vs bare reqwest POST",
            "token_endpoint_refresh_grant",
        ),
        instruction_row(
            r,
            "instructions per call (callgrind): through the credential vs bare reqwest POST",
            "InteractiveBrowserBrokerCredential::get_token",
        ),
        instruction_row(
            r,
            "instructions per call (callgrind): floor, bare `azure_core` pipeline POST",
            "azure_core_pipeline_post",
        ),
        instruction_row(
            r,
            "instructions per call (callgrind): floor with the answer read",
            "azure_core_pipeline_post_and_parse",
        ),
        instruction_row(
            r,
            "instructions per call (callgrind): floor of a bounded call",
            "azure_core_pipeline_post_and_parse_bounded",
        ),
        instruction_row(
            r,
            "instructions per call (callgrind): reference, azure_identity's cache miss",
            THEIR_MISS,
        ),
        instruction_row(
            r,
            "instructions per call (callgrind): reference's own floor, bare POST of its form",
            BARE_CLIENT_CREDENTIALS,
        ),
        own_floor_row(
            r,
            &REFRESH_INSTRUCTIONS,
            "ratio",
            "instructions per call (callgrind): azure_identity's miss vs the bare POST of its own form",
        ),
        row(
            "Mixed Reality cached `get_token`",
            ns(mr_cached),
            "-".into(),
            None,
            mr_cached,
            Target::AtMost(200.0, " ns"),
        ),
        row(
            "floor of a Mixed Reality hit: coarse clock read + `AccessToken` clone",
            ns(mr_floor),
            "-".into(),
            None,
            None,
            Target::None,
        ),
        paired_row_of(
            r,
            &MR_PAIRED,
            "paired rounds: Mixed Reality uncached over TLS (`MixedRealityStsClient::get_token`) vs bare reqwest GET, client CPU, median of per-round ratios",
            "MixedRealityStsClient::get_token",
            Target::AtMost(1.6, "x"),
        ),
        row(
            "Mixed Reality uncached over TLS, client CPU, vs bare reqwest GET (criterion, one after the other)",
            us(mr_uncached),
            us(mr_bare),
            ratio(mr_uncached, mr_bare),
            None,
            Target::None,
        ),
        row(
            "Mixed Reality: 1,000 cold callers -> 1 STS request (test)",
            if r.cold_callers {
                "1 request".into()
            } else {
                "test failed".into()
            },
            "-".into(),
            None,
            Some(if r.cold_callers { 1.0 } else { 0.0 }),
            Target::Holds,
        ),
        row(
            "warm `mr-auth entra-token --output token`, median",
            ms(entra_token),
            "-".into(),
            None,
            entra_token,
            Target::AtMost(3.0, " ms"),
        ),
        row(
            "Python azure-identity `get_token` (fresh process) / warm entra-token",
            ms(entra_token),
            ms(python),
            ratio(python, entra_token),
            ratio(python, entra_token),
            Target::AtLeast(50.0, "x"),
        ),
        row(
            "floor: `mr-auth --version` (start-up) / `cat` of the cache file",
            ms(start),
            ms(cat),
            None,
            None,
            Target::None,
        ),
        row(
            "one-shot `mr-auth token --no-system-roots` vs `curl --cacert`, wall",
            ms(one_shot),
            ms(curl),
            ratio(one_shot, curl),
            ratio(one_shot, curl),
            Target::AtMost(1.5, "x"),
        ),
        row(
            "emulator: tokens/s, 32 keep-alive TLS connections",
            emulator.map_or_else(|| "missing".into(), |t| format!("{:.0}/s", 1e9 / t)),
            "-".into(),
            None,
            emulator.map(|t| 1e9 / t),
            Target::AtLeast(20_000.0, "/s"),
        ),
        row(
            "Linux broker: silent token over D-Bus (fake broker)",
            us(dbus),
            "-".into(),
            None,
            None,
            Target::None,
        ),
    ]);
    rows
}

fn table(rows: &[Row]) -> String {
    let mut text = String::from(
        "| figure | ours | reference | ratio | target | met |\n|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let _ = writeln!(
            text,
            "| {} | {} | {} | {} | {} | {} |",
            r.figure, r.ours, r.reference, r.ratio, r.target, r.met
        );
    }
    text
}

/// The median (ns) of every criterion benchmark under `home`: each `new/benchmark.json` names
/// its full id, and the `new/estimates.json` next to it holds the median.
pub(crate) fn criterion_medians(home: &Path) -> Result<Vec<(String, f64)>> {
    let mut found = Vec::new();
    let mut dirs = vec![(home.to_path_buf(), 0)];
    while let Some((dir, depth)) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if !path.is_dir() || depth >= 6 {
                continue;
            }
            if path.file_name().is_some_and(|n| n == "new") {
                let benchmark = std::fs::read_to_string(path.join("benchmark.json"));
                let estimates = std::fs::read_to_string(path.join("estimates.json"));
                if let (Ok(benchmark), Ok(estimates)) = (benchmark, estimates) {
                    let id = json_string(&benchmark, "full_id");
                    let median = json_object(&estimates, "median")
                        .and_then(|median| json_number(median, "point_estimate"));
                    if let (Some(id), Some(median)) = (id, median) {
                        found.push((id, median));
                    }
                }
            } else {
                dirs.push((path, depth + 1));
            }
        }
    }
    Ok(found)
}

/// The refresh grant bench's paired rounds (`<home>/entra_refresh_grant_tls_paired.json`, one
/// object per variant), as `entra_refresh_grant_tls_paired/<variant>/<figure>` entries next to
/// criterion's medians: `median_ns`, and `ratio_median`, `ratio_p25`, `ratio_p75` (per-round
/// ratios to the bare POST). A missing file gives none.
pub(crate) fn paired_figures(home: &Path) -> Vec<(String, f64)> {
    [REFRESH_PAIRED, MR_PAIRED, HITS_PAIRED, THREADS_PAIRED]
        .iter()
        .flat_map(|measurement| {
            variant_figures(
                home,
                measurement,
                &["median_ns", "ratio_median", "ratio_p25", "ratio_p75"],
            )
        })
        .collect()
}

/// The refresh grant bench's instruction counts (`<home>/entra_refresh_grant_tls_instructions
/// .json`), as `entra_refresh_grant_tls_instructions/<variant>/<figure>` entries: `per_call`
/// and `ratio` (to the bare POST's). A missing file gives none.
pub(crate) fn instruction_figures(home: &Path) -> Vec<(String, f64)> {
    variant_figures(home, &REFRESH_INSTRUCTIONS, &["per_call", "ratio"])
}

/// `<home>/<measurement>.json` (one object per variant) as `<measurement>/<variant>/<figure>`
/// entries, for each of `figures` it has.
fn variant_figures(home: &Path, measurement: &Measurement, figures: &[&str]) -> Vec<(String, f64)> {
    let measurement_name = measurement.name;
    let Ok(text) = std::fs::read_to_string(home.join(format!("{measurement_name}.json"))) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for variant in measurement.variants {
        let Some(object) = json_object(&text, variant) else {
            continue;
        };
        for figure in figures {
            if let Some(value) = json_number(object, figure) {
                found.push((format!("{measurement_name}/{variant}/{figure}"), value));
            }
        }
    }
    found
}

/// A measurement a bench makes outside criterion's own functions and writes to
/// `<CRITERION_HOME>/<name>.json`: its name and its variants (the first is the reference), as
/// the bench writes them.
struct Measurement {
    name: &'static str,
    variants: &'static [&'static str],
    /// How a time per call is shown (`ns` or `us`).
    time: fn(Option<f64>) -> String,
}

/// The refresh grant's variants (`mr-auth-broker`'s `entra_credential` bench).
const REFRESH_VARIANTS: &[&str] = &[
    "bare_reqwest_post",
    "azure_core_pipeline_post",
    "azure_core_pipeline_post_and_parse",
    "azure_core_pipeline_post_and_parse_bounded",
    "token_endpoint_refresh_grant",
    "InteractiveBrowserBrokerCredential::get_token",
    BARE_CLIENT_CREDENTIALS,
    THEIR_MISS,
];
/// The Azure SDK's own credential on a miss, the refresh grant's reference from outside: its
/// client credentials grant, and the bare POST of that grant's form.
const THEIR_MISS: &str = "azure_identity_ClientSecretCredential::get_token";
const BARE_CLIENT_CREDENTIALS: &str = "bare_reqwest_post_client_credentials";
const REFRESH_PAIRED: Measurement = Measurement {
    name: "entra_refresh_grant_tls_paired",
    variants: REFRESH_VARIANTS,
    time: us,
};
const REFRESH_INSTRUCTIONS: Measurement = Measurement {
    name: "entra_refresh_grant_tls_instructions",
    variants: REFRESH_VARIANTS,
    time: us,
};
/// The Mixed Reality uncached exchange over TLS (`mr-auth-credentials`' `token_credential`).
const MR_PAIRED: Measurement = Measurement {
    name: "uncached_exchange_tls_paired",
    variants: &["bare_reqwest_get", "MixedRealityStsClient::get_token"],
    time: us,
};
/// azure_identity's credential, the reference of the Entra hits, as the bench names it.
const THEIRS: &str = "azure_identity_ClientSecretCredential";
/// The Entra hits against azure_identity's, in paired rounds (`entra_credential`).
const HITS_PAIRED: Measurement = Measurement {
    name: "entra_cache_hit_paired",
    variants: &[
        THEIRS,
        "InteractiveBrowserBrokerCredential",
        "DeviceCodeCredential",
        "SharedTokenCacheCredential",
    ],
    time: ns,
};
/// Each credential's two threads against its one thread, in paired rounds; each variant's ratio
/// is to its own credential's one thread.
const THREADS_PAIRED: Measurement = Measurement {
    name: "entra_cache_hit_threads_paired",
    variants: &[
        "InteractiveBrowserBrokerCredential/2_threads",
        "DeviceCodeCredential/2_threads",
        "SharedTokenCacheCredential/2_threads",
        "azure_identity_ClientSecretCredential/2_threads",
    ],
    time: ns,
};

/// hyperfine's `--export-json` rows (missing file: no rows).
pub(crate) fn hyperfine_rows(path: &Path) -> Result<Vec<Hyperfine>> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(Vec::new());
    };
    let mut rows = Vec::new();
    // Each result object starts with its "command"; its numbers follow before the next one.
    let starts: Vec<usize> = text.match_indices("\"command\"").map(|(i, _)| i).collect();
    for (n, start) in starts.iter().enumerate() {
        let end = starts.get(n + 1).copied().unwrap_or(text.len());
        let object = &text[*start..end];
        let fields = (
            json_string(object, "command"),
            json_number(object, "median"),
            json_number(object, "user"),
            json_number(object, "system"),
        );
        match fields {
            (Some(command), Some(median), Some(user), Some(system)) => rows.push(Hyperfine {
                command,
                median,
                user,
                system,
            }),
            _ => return Err(format!("{}: a result without its numbers", path.display())),
        }
    }
    Ok(rows)
}

/// The text after `"key":` (and any whitespace) in `json`.
fn json_value<'a>(json: &'a str, key: &str) -> Option<&'a str> {
    let needle = format!("\"{key}\"");
    let at = json.find(&needle)? + needle.len();
    json[at..]
        .trim_start()
        .strip_prefix(':')
        .map(str::trim_start)
}

/// The object that is the value of `key` (up to its closing brace; objects nested in it are
/// skipped).
fn json_object<'a>(json: &'a str, key: &str) -> Option<&'a str> {
    let value = json_value(json, key)?;
    let mut depth = 0usize;
    for (i, c) in value.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 1 => return Some(&value[..=i]),
            '}' => depth = depth.checked_sub(1)?,
            _ => {}
        }
    }
    None
}

/// The number that is the (first) value of `key`.
fn json_number(json: &str, key: &str) -> Option<f64> {
    let value = json_value(json, key)?;
    let end = value
        .find(|c: char| !(c.is_ascii_digit() || "+-.eE".contains(c)))
        .unwrap_or(value.len());
    value[..end].parse().ok()
}

/// The string that is the (first) value of `key` (JSON escapes of `"` and `\` undone).
fn json_string(json: &str, key: &str) -> Option<String> {
    let value = json_value(json, key)?.strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => out.push(chars.next()?),
            c => out.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn criterion_and_hyperfine_json_are_read() {
        let estimates = r#"{"mean":{"confidence_interval":{"confidence_level":0.95,"lower_bound":1.0,"upper_bound":3.0},"point_estimate":2.0,"standard_error":0.1},"median":{"confidence_interval":{"confidence_level":0.95,"lower_bound":4.0,"upper_bound":6.0},"point_estimate":5.5e2,"standard_error":0.2}}"#;
        let median = json_object(estimates, "median").unwrap();
        assert_eq!(json_number(median, "point_estimate"), Some(550.0));
        let benchmark = r#"{"group_id":"cached","function_id":"TokenCredential::get_token","full_id":"cached/TokenCredential::get_token","directory_name":"cached/x"}"#;
        assert_eq!(
            json_string(benchmark, "full_id").as_deref(),
            Some("cached/TokenCredential::get_token")
        );

        let dir = std::env::temp_dir().join(format!("xtask-bench-test-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("cached/x/new")).unwrap();
        std::fs::write(dir.join("cached/x/new/benchmark.json"), benchmark).unwrap();
        std::fs::write(dir.join("cached/x/new/estimates.json"), estimates).unwrap();
        let hyperfine = r#"{
  "results": [
    {
      "command": "a \"quoted\" name",
      "mean": 0.01,
      "stddev": 0.001,
      "median": 0.0095,
      "user": 0.004,
      "system": 0.003,
      "min": 0.009,
      "max": 0.02,
      "times": [0.009, 0.0095],
      "exit_codes": [0, 0]
    },
    {
      "command": "b",
      "mean": 0.3,
      "stddev": 0.01,
      "median": 0.31,
      "user": 0.2,
      "system": 0.05,
      "times": [0.3],
      "exit_codes": [0]
    }
  ]
}"#;
        std::fs::write(dir.join("h.json"), hyperfine).unwrap();
        let medians = criterion_medians(&dir).unwrap();
        let rows = hyperfine_rows(&dir.join("h.json")).unwrap();
        let missing = hyperfine_rows(&dir.join("none.json")).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            medians,
            [("cached/TokenCredential::get_token".to_owned(), 550.0)]
        );
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].command, "a \"quoted\" name");
        assert_eq!((rows[0].median, rows[1].median), (0.0095, 0.31));
        assert!(missing.is_empty());
    }

    /// What `read` makes of `json` written as `<measurement>.json` in a directory of its own,
    /// and the table's rows of that.
    fn read_and_show(
        measurement: &str,
        json: &str,
        read: fn(&Path) -> Vec<(String, f64)>,
    ) -> (Vec<(String, f64)>, Vec<Row>) {
        let dir =
            std::env::temp_dir().join(format!("xtask-{measurement}-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{measurement}.json")), json).unwrap();
        let figures = read(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(read(Path::new("/nonexistent")).is_empty());
        let results = Results {
            criterion: figures.clone(),
            hyperfine: Vec::new(),
            cold_callers: true,
        };
        (figures, rows(&results))
    }

    #[test]
    fn paired_rounds_are_read_and_judged_on_their_median_ratio() {
        // As the bench writes it (serde_json, one object per variant).
        let json = r#"{"bare_reqwest_post":{"median_ns":60000.0,"ratio_median":1.0,"ratio_p25":1.0,"ratio_p75":1.0},"token_endpoint_refresh_grant":{"median_ns":75000.0,"ratio_median":1.24,"ratio_p25":1.2,"ratio_p75":1.29},"InteractiveBrowserBrokerCredential::get_token":{"median_ns":90000.0,"ratio_median":1.5,"ratio_p25":1.45,"ratio_p75":1.55}}"#;
        let paired = REFRESH_PAIRED.name;
        let (figures, rows) = read_and_show(paired, json, paired_figures);
        assert!(figures.contains(&(
            format!("{paired}/token_endpoint_refresh_grant/ratio_median"),
            1.24
        )));
        assert_eq!(figures.len(), 12, "{figures:?}");
        let find = |prefix: &str| rows.iter().find(|r| r.figure.starts_with(prefix)).unwrap();
        let endpoint = find("paired rounds: the token endpoint alone");
        assert_eq!(
            (endpoint.ratio.as_str(), endpoint.met.as_str()),
            ("1.24x", "met")
        );
        assert!(
            endpoint.ours.contains("quartiles 1.20-1.29"),
            "{}",
            endpoint.ours
        );
        let credential = find("paired rounds: through the credential");
        assert_eq!(credential.met, "NOT met");
        // A floor has no target; its figure is missing from this file.
        let floor = find("paired rounds: floor, bare");
        assert_eq!((floor.met.as_str(), floor.ratio.as_str()), ("-", "-"));
    }

    #[test]
    fn azure_identitys_miss_is_shown_against_the_bare_post_of_its_own_form() {
        let json = r#"{"bare_reqwest_post":{"median_ns":60000.0,"ratio_median":1.0,"ratio_p25":1.0,"ratio_p75":1.0},"bare_reqwest_post_client_credentials":{"median_ns":61000.0,"ratio_median":1.02,"ratio_p25":0.98,"ratio_p75":1.05},"azure_identity_ClientSecretCredential::get_token":{"median_ns":80000.0,"ratio_median":1.326,"ratio_p25":1.25,"ratio_p75":1.4}}"#;
        let (figures, rows) = read_and_show(REFRESH_PAIRED.name, json, paired_figures);
        assert_eq!(figures.len(), 12, "{figures:?}");
        let find = |prefix: &str| rows.iter().find(|r| r.figure.starts_with(prefix)).unwrap();
        let theirs = find("paired rounds, reference: azure_identity's");
        assert_eq!((theirs.ratio.as_str(), theirs.met.as_str()), ("1.33x", "-"));
        let own = find("paired rounds: azure_identity's miss vs the bare POST of its own form");
        assert_eq!(
            (
                own.ours.as_str(),
                own.reference.as_str(),
                own.ratio.as_str()
            ),
            ("1.33x", "1.02x", "1.30x")
        );
        // Without the instruction counts, their quotient has no figure.
        let counted = find("instructions per call (callgrind): azure_identity's miss vs");
        assert_eq!(
            (counted.ours.as_str(), counted.ratio.as_str()),
            ("missing", "-")
        );
    }

    #[test]
    fn the_mixed_reality_exchange_is_judged_on_its_paired_rounds() {
        let json = r#"{"bare_reqwest_get":{"median_ns":50000.0,"ratio_median":1.0,"ratio_p25":1.0,"ratio_p75":1.0},"MixedRealityStsClient::get_token":{"median_ns":70000.0,"ratio_median":1.39,"ratio_p25":1.32,"ratio_p75":1.47}}"#;
        let (figures, rows) = read_and_show(MR_PAIRED.name, json, paired_figures);
        assert_eq!(figures.len(), 8, "{figures:?}");
        let find = |prefix: &str| rows.iter().find(|r| r.figure.starts_with(prefix)).unwrap();
        let paired = find("paired rounds: Mixed Reality uncached");
        assert_eq!(
            (
                paired.ratio.as_str(),
                paired.reference.as_str(),
                paired.met.as_str()
            ),
            ("1.39x", "50.0 µs", "met")
        );
        assert!(
            paired.ours.contains("quartiles 1.32-1.47"),
            "{}",
            paired.ours
        );
        // criterion's figures, taken one after the other, are shown without a verdict.
        assert_eq!(find("Mixed Reality uncached over TLS").met, "-");

        let json = json.replace("\"ratio_median\":1.39", "\"ratio_median\":1.61");
        let (_, rows) = read_and_show(MR_PAIRED.name, &json, paired_figures);
        let paired = rows
            .iter()
            .find(|r| r.figure.starts_with("paired rounds: Mixed Reality"))
            .unwrap();
        assert_eq!(paired.met, "NOT met");
    }

    #[test]
    fn instruction_counts_are_read_and_shown_without_a_target() {
        let json = r#"{"bare_reqwest_post":{"per_call":93440.0,"ratio":1.0},"token_endpoint_refresh_grant":{"per_call":128286.0,"ratio":1.373}}"#;
        let (figures, rows) = read_and_show(REFRESH_INSTRUCTIONS.name, json, instruction_figures);
        assert_eq!(figures.len(), 4, "{figures:?}");
        let find = |prefix: &str| rows.iter().find(|r| r.figure.starts_with(prefix)).unwrap();
        let endpoint = find("instructions per call (callgrind): the token endpoint");
        assert_eq!(
            (
                endpoint.ours.as_str(),
                endpoint.reference.as_str(),
                endpoint.ratio.as_str(),
                endpoint.met.as_str()
            ),
            ("128286 instructions", "93440 instructions", "1.37x", "-")
        );
        let credential = find("instructions per call (callgrind): through the credential");
        assert_eq!(credential.ours, "missing");
    }

    #[test]
    fn the_hits_are_judged_on_their_paired_rounds() {
        let hits = r#"{"azure_identity_ClientSecretCredential":{"median_ns":230.0,"ratio_median":1.0,"ratio_p25":1.0,"ratio_p75":1.0},"InteractiveBrowserBrokerCredential":{"median_ns":100.0,"ratio_median":0.44,"ratio_p25":0.42,"ratio_p75":0.46},"DeviceCodeCredential":{"median_ns":125.0,"ratio_median":0.54,"ratio_p25":0.5,"ratio_p75":0.56}}"#;
        let (figures, rows) = read_and_show(HITS_PAIRED.name, hits, paired_figures);
        assert_eq!(figures.len(), 12, "{figures:?}");
        let find = |rows: &[Row], prefix: &str| {
            rows.iter()
                .find(|r| r.figure.starts_with(prefix))
                .unwrap()
                .clone()
        };
        let browser = find(
            &rows,
            "paired rounds: Entra cache hit, `InteractiveBrowserBrokerCredential` vs",
        );
        assert_eq!(
            (
                browser.ratio.as_str(),
                browser.reference.as_str(),
                browser.met.as_str()
            ),
            ("0.44x", "230 ns", "met")
        );
        assert!(browser.ours.starts_with("100 ns"), "{}", browser.ours);
        let device = find(
            &rows,
            "paired rounds: Entra cache hit, `DeviceCodeCredential` vs",
        );
        assert_eq!(device.met, "NOT met");

        // Two threads' per-call time over one thread's: 1.05 is a scaling of 2 / 1.05 = 1.90.
        let threads = r#"{"InteractiveBrowserBrokerCredential/2_threads":{"median_ns":105.0,"ratio_median":1.05,"ratio_p25":1.0,"ratio_p75":1.1},"SharedTokenCacheCredential/2_threads":{"median_ns":150.0,"ratio_median":1.4,"ratio_p25":1.3,"ratio_p75":1.5},"azure_identity_ClientSecretCredential/2_threads":{"median_ns":300.0,"ratio_median":1.25,"ratio_p25":1.2,"ratio_p75":1.3}}"#;
        let (figures, rows) = read_and_show(THREADS_PAIRED.name, threads, paired_figures);
        assert_eq!(figures.len(), 12, "{figures:?}");
        let browser = find(
            &rows,
            "paired rounds: Entra cache hit, `InteractiveBrowserBrokerCredential`, calls/s",
        );
        assert_eq!(
            (
                browser.ours.as_str(),
                browser.reference.as_str(),
                browser.met.as_str()
            ),
            ("1.90x (quartiles 1.82-2.00)", "1.60x", "met")
        );
        let shared = find(
            &rows,
            "paired rounds: Entra cache hit, `SharedTokenCacheCredential`, calls/s",
        );
        assert_eq!(shared.met, "NOT met");
        let device = find(
            &rows,
            "paired rounds: Entra cache hit, `DeviceCodeCredential`, calls/s",
        );
        assert_eq!(device.met, "no figure");
    }

    #[test]
    fn targets_are_judged_on_the_figure_they_name() {
        let results = Results {
            criterion: vec![
                (
                    "entra_cache_hit/InteractiveBrowserBrokerCredential".into(),
                    250.0,
                ),
                (
                    "entra_cache_hit/azure_identity_ClientSecretCredential".into(),
                    400.0,
                ),
            ],
            hyperfine: vec![Hyperfine {
                command: ENTRA_TOKEN.into(),
                median: 0.004,
                user: 0.001,
                system: 0.001,
            }],
            cold_callers: true,
        };
        let rows = rows(&results);
        let find = |prefix: &str| rows.iter().find(|r| r.figure.starts_with(prefix)).unwrap();
        assert_eq!(find("Entra cache hit, `Interactive").met, "met");
        assert_eq!(find("Entra cache hit, `DeviceCode").met, "no figure");
        // criterion's two figures are context; the verdict is the paired rounds', missing here.
        let versus = find("Entra cache hit, `InteractiveBrowserBrokerCredential` vs");
        assert_eq!((versus.ratio.as_str(), versus.met.as_str()), ("0.62x", "-"));
        let paired =
            find("paired rounds: Entra cache hit, `InteractiveBrowserBrokerCredential` vs");
        assert_eq!(paired.met, "no figure");
        assert_eq!(find("warm `mr-auth entra-token").met, "NOT met");
        assert_eq!(find("Mixed Reality: 1,000").met, "met");
        assert_eq!(find("Mixed Reality cached").met, "no figure");
        assert_eq!(find("floor of a hit").met, "-");
        assert!(table(&rows).lines().count() == rows.len() + 2);
    }
}
