"""The sharded and Spark runners against the numpy path (issue 23 §4).

One history, three runs of it: `evaluate` (numpy, one process), the shard function run in
this process (K = 1, 3 and 7 shards, components shuffled over the shards and the shards
judged in a shuffled order) and Spark in `local[2]` (monitor.scoring.spark.runner). Each
must give the same features, yardsticks, patterns (members, roles, transfers, scores,
sentences), reasons and risk, and anomaly scores within 1e-12. Histories: sim-independent
seeds (drawn without the rules), a hub-heavy token (five hubs in most transfers, with
laundering shapes around them) and, with a JDK, a draw of IBM's AMLSim generator.
"""

from __future__ import annotations

import dataclasses
import random
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from monitor.addresses import ZERO
from monitor.scoring import evaluate
from monitor.scoring.config import DEFAULTS
from monitor.scoring.evaluate import Scored
from monitor.scoring.flows import Flows
from monitor.scoring.spark import shards
from monitor.sim import generate_independent
from support.flows import background, day, history_flows

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


def hub_heavy(seed: int = 5) -> Flows:
    """A token whose five hubs (exchanges, a market maker) are in most transfers, with
    laundering shapes that reach them: a fan-in whose collector deposits at a hub, a peel
    chain and a cycle funded by hub withdrawals, a scatter-gather into a hub's customer."""
    rng = random.Random(seed)
    ledger = background(seed)
    hubs = [f"hub:{k}" for k in range(5)]
    users = [f"user:{k}" for k in range(600)]
    for hub in hubs:
        ledger.mint(hub, 5_000_000, day(0))
    for k in range(7000):
        user, hub = rng.choice(users), hubs[rng.randrange(5) if k % 3 else 0]
        at = day(rng.uniform(1, 60))
        amount = round(rng.uniform(10, 4000), 2)
        if rng.random() < 0.5:
            ledger.send(hub, user, amount, at)
        else:
            ledger.send(user, hub, amount, at)
    for _ in range(400):  # hubs rebalancing between themselves
        a, b = rng.sample(hubs, 2)
        ledger.send(a, b, round(rng.uniform(1e4, 1e5), 2), day(rng.uniform(1, 60)))
    # A fan-in of fresh feeders into a collector that deposits at hub 1.
    for k in range(8):
        ledger.send(hubs[2], f"feeder:{k}", 900, day(40, k))
        ledger.send(f"feeder:{k}", "collector", 880, day(40, 10 + k))
    ledger.send("collector", hubs[1], 7000, day(41))
    # A peel chain from a withdrawal.
    ledger.send(hubs[3], "peel:0", 50_000, day(42))
    for k in range(6):
        ledger.send(f"peel:{k}", f"peel:{k + 1}", 50_000 * 0.93 ** (k + 1), day(42, 2 + 3 * k))
        ledger.send(f"peel:{k}", f"peeled:{k}", 50_000 * 0.93 ** k * 0.06, day(42, 3 + 3 * k))
    # A cycle of low-degree addresses, funded by hub 4 and back.
    loop = [f"loop:{k}" for k in range(5)]
    ledger.send(hubs[4], loop[0], 20_000, day(45))
    for k, member in enumerate(loop):
        ledger.send(member, loop[(k + 1) % 5], 19_500 - 100 * k, day(45, 2 + k))
    # Scatter-gather: a source over four mules into one collector, who pays a hub.
    for k in range(4):
        ledger.send("sg:source", f"sg:mule:{k}", 5000, day(50, k))
        ledger.send(f"sg:mule:{k}", "sg:collector", 4950, day(50, 6 + k))
    ledger.mint("sg:source", 25_000, day(49))
    ledger.send("sg:collector", hubs[0], 19_000, day(51))
    return ledger.flows()


def independent(seed: int) -> Flows:
    history = generate_independent(seed)
    return history_flows(history, len(history.transfers), [ZERO])


def amlsim(tmp: Path) -> Flows:
    from monitor.sim.amlsim_draws import GENERATOR, Spec, draw, load_draw

    if not GENERATOR.exists() or shutil.which("javac") is None:
        pytest.skip("no AMLSim generator or no JDK (javac): scripts/setup.sh all installs one")
    spec = Spec(7, 1_000, 40, {"fan_in": 3, "cycle": 3, "scatter_gather": 2,
                               "gather_scatter": 2}, {"cycle": 2})
    history = load_draw(draw(spec, tmp))
    return history_flows(history, len(history.transfers), [ZERO])


HISTORIES = ("independent-3", "independent-8", "hub-heavy", "amlsim")


@pytest.fixture(scope="module")
def flows_of(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    held: dict[str, Flows] = {}

    def get(name: str) -> Flows:
        if name not in held:
            if name.startswith("independent-"):
                held[name] = independent(int(name.split("-")[1]))
            elif name == "hub-heavy":
                held[name] = hub_heavy()
            else:
                held[name] = amlsim(tmp_path_factory.mktemp("amlsim"))
        return held[name]

    yield get


@pytest.fixture(scope="module")
def reference(flows_of: Any) -> Any:
    held: dict[str, Scored] = {}

    def get(name: str) -> Scored:
        if name not in held:
            held[name] = evaluate.evaluate(flows_of(name), DEFAULTS)
        return held[name]

    return get


def assert_same(got: Scored, want: Scored) -> None:
    np.testing.assert_array_equal(got.features.matrix, want.features.matrix)
    assert got.features.names == want.features.names
    for f in dataclasses.fields(want.stats):
        if not f.compare:  # a cache of what the yardsticks give
            continue
        a, b = getattr(got.stats, f.name), getattr(want.stats, f.name)
        if isinstance(b, np.ndarray):
            np.testing.assert_array_equal(a, b, err_msg=f.name)
        else:
            assert a == b, f.name
    assert got.patterns == want.patterns, sorted(set(got.patterns) ^ set(want.patterns))[:10]
    for key, pattern in want.patterns.items():  # members in the same presentation order
        assert list(got.patterns[key].members.items()) == list(pattern.members.items())
    differ = [a for a in set(got.raw) | set(want.raw) if got.raw.get(a) != want.raw.get(a)]
    assert not differ, [(a, got.raw.get(a), want.raw.get(a)) for a in differ[:3]]
    assert got.risk == want.risk
    assert got.reasons == want.reasons
    np.testing.assert_allclose(got.anomaly_scores, want.anomaly_scores, rtol=0, atol=1e-12,
                               equal_nan=True)


@pytest.mark.parametrize("name", HISTORIES)
@pytest.mark.parametrize("k", [1, 3, 7])
def test_sharded_equals_numpy(flows_of: Any, reference: Any, name: str, k: int) -> None:
    want = reference(name)
    assert want.patterns, "a history with no patterns proves little"
    assert_same(shards.evaluate_sharded(flows_of(name), DEFAULTS, k=k, seed=10 + k), want)


def test_shards_hold_chains_and_cycles_whole(flows_of: Any) -> None:
    """The hub-heavy token's hubs are each a shard key of their own, and a chain's or a
    cycle's low-degree members share one; with 7 shards no shard holds every row."""
    flows = flows_of("hub-heavy")
    plan = shards.plan(flows, DEFAULTS, 7, seed=3)
    names = {str(a): i for i, a in enumerate(flows.addresses)}
    from support.flows import address

    loop = {plan.shard_of[names[address(f"loop:{k}")]] for k in range(5)}
    peel = {plan.shard_of[names[address(f"peel:{k}")]] for k in range(7)}
    assert len(loop) == 1 and len(peel) == 1
    sizes = [shards.rows_of(flows, plan, s).size for s in range(7)]
    assert max(sizes) < flows.n and sum(sizes) >= flows.n


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    pytest.importorskip("pyspark", reason="the spark extra: pip install -e '.[spark]'")
    if shutil.which("java") is None:
        pytest.skip("no JDK: scripts/setup.sh all installs one")
    from monitor.scoring.spark import runner

    session = runner.session("local[2]", "amlmon-parity", shuffle_partitions=4)
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.mark.parametrize("name", ("independent-3", "hub-heavy", "amlsim"))
def test_spark_local_equals_numpy(spark: Any, flows_of: Any, reference: Any,
                                  name: str) -> None:
    from monitor.scoring.spark import runner

    assert_same(runner.evaluate_spark(spark, flows_of(name), DEFAULTS, k=5), reference(name))


def test_spark_sql_shard_rows_are_the_shard_function_s(spark: Any, flows_of: Any) -> None:
    """The joins that give each shard its transfers give what shards.shard_rows gives."""
    from monitor.scoring.spark import runner

    flows = flows_of("hub-heavy")
    plan = shards.plan(flows, DEFAULTS, 7, seed=3)
    runner.transfers_frame(spark, flows, plan.feats)
    got = runner.shard_rows(spark, plan).toPandas()
    for s in range(7):
        rows = np.sort(got.loc[got["shard"] == s, "row"].to_numpy(np.int64))
        np.testing.assert_array_equal(rows, shards.rows_of(flows, plan, s))


def test_spark_sql_ids_and_exact_sums(spark: Any, flows_of: Any) -> None:
    """Address ids in Spark SQL are load_flows' numbering (the zero address 0, the others
    in byte order); per-address sums are exact as DECIMAL(38,0), and an amount beyond 38
    digits makes its addresses' sums null, counted as overflow."""
    import pandas as pd

    from monitor.scoring.spark import sql

    flows = flows_of("hub-heavy")  # Ledger numbering: sorted, as load_flows'
    raw = [(str(flows.addresses[s]), str(flows.addresses[d]), str(round(a * 10**6)))
           for s, d, a in zip(flows.src.tolist(), flows.dst.tolist(), flows.amount.tolist(),
                              strict=True)]
    big = "1" + "0" * 40
    raw += [("0x" + "ee" * 20, "0x" + "ef" * 20, big),
            ("0x" + "ef" * 20, "0x" + "f0" * 20, str(10**38 - 1))]
    spark.createDataFrame(pd.DataFrame(raw, columns=["src", "dst", "amount"])
                          ).createOrReplaceTempView("raw")
    ids = sql.address_ids(spark).toPandas()
    got = dict(zip(ids["address"], ids["id"].astype(int), strict=True))
    extra = sorted({"0x" + "ee" * 20, "0x" + "ef" * 20, "0x" + "f0" * 20})
    want = {a: i for i, a in enumerate(sorted(set(map(str, flows.addresses[1:])) | set(extra)),
                                       start=1)}
    want[ZERO] = 0
    assert got == want
    sums = sql.exact_sums(spark).toPandas().set_index("address")
    received: dict[str, int] = {}
    for _, dst, amount in raw[:-2]:
        received[dst] = received.get(dst, 0) + int(amount)
    hub = str(flows.addresses[int(np.bincount(flows.dst).argmax())])
    assert int(sums.loc[hub, "received"]) == received[hub]
    assert sums.loc["0x" + "ef" * 20, "overflow"] == 1
    assert sums.loc["0x" + "ef" * 20, "received"] is None
    assert int(sums.loc["0x" + "f0" * 20, "received"]) == 10**38 - 1


def test_amlmon_score_engine_spark_persists_the_same_findings(pg_url: str) -> None:
    """`amlmon score --engine spark` end to end: a history in Postgres scored by the numpy
    engine, then by Spark local[2], as processes. The Spark run goes through the same
    persistence (service.run: pattern_store.sync, _persist, alerts): it writes no changed
    score row, raises no alert and retires no pattern, and the stored state is equal."""
    pytest.importorskip("pyspark", reason="the spark extra: pip install -e '.[spark]'")
    if shutil.which("java") is None:
        pytest.skip("no JDK: scripts/setup.sh all installs one")
    from datetime import UTC, datetime

    from sqlalchemy import select

    from models import Alert, Pattern, ScoreRun
    from monitor import db
    from monitor.chain.decode import TransferRecord
    from monitor.ingest import store
    from monitor.scoring import scores
    from monitor.tokens import add_token
    from support.cli import run_cli_process

    token = "0x" + "ab" * 20
    history = generate_independent(4, investors=200, days=60, cases_per_typology=2)
    engine = db.make_engine(pg_url)
    sessions = db.session_factory(engine)
    with db.transaction(sessions) as session:
        token_id = add_token(session, chain_id=31337, address=token, decimals=6).id
        records, times = [], {}
        for i, t in enumerate(history.transfers):
            records.append(TransferRecord(i // 20, f"0x{i // 20:064x}", f"0x{i:064x}", i % 20,
                                          0, token, t.sender, t.receiver, t.amount))
            times[i // 20] = datetime.fromtimestamp(t.timestamp, UTC)
        store.write_transfers(session, 31337, {token: token_id}, records, times)

    def state() -> tuple[Any, ...]:
        with sessions() as session:
            rows = {a: (s.risk_score, s.reasons)
                    for a, s in scores.current_scores(session, token_id).items()}
            patterns = {(p.key, p.score, p.status, p.member_count)
                        for p in session.scalars(select(Pattern))}
            alerts = {(a.address, a.rule, a.status) for a in session.scalars(select(Alert))}
            run = session.scalars(select(ScoreRun).order_by(ScoreRun.id.desc())).first()
            assert run is not None
            return rows, patterns, alerts, run.model["changed_rows"]

    env = {"AMLMON_DATABASE_URL": pg_url}
    done = run_cli_process("score", env=env)
    assert done.code == 0, done.err
    rows, patterns, alerts, _ = state()
    assert rows and patterns and alerts
    done = run_cli_process("score", "--engine", "spark", "--spark-master", "local[2]",
                           env={**env, "AMLMON_SPARK__SHARDS": "3"}, timeout=300)
    assert done.code == 0, done.err[-3000:]
    assert "alerts: 0 new, 0 updated, 0 retracted" in done.out
    assert state() == (rows, patterns, alerts, 0)
    engine.dispose()


def listed(flows: Flows) -> dict[str, list[Any]]:
    """A sanctions list naming a hub's customer and the peel chain's first hop, and a KYC
    list of most addresses (the token is then scored as permissioned)."""
    from monitor.watchlist.service import Listing
    from support.flows import address

    sanctioned = Listing("sdn", "sanctioned", None)
    kyc = Listing("investors", "kyc_investor", None)
    names = [str(a) for a in flows.addresses[1:]]
    held: dict[str, list[Any]] = {a: [kyc] for a in names[: int(len(names) * 0.9)]}
    for name in ("user:7", "peel:1"):
        held.setdefault(address(name), []).append(sanctioned)
    return held


def test_watchlist_rules_run_on_the_whole_token(flows_of: Any, spark: Any) -> None:
    """With listings (exposure crosses hubs, so it runs on the whole token, not on a
    shard) and a permissioned token: sharded and Spark equal the numpy path."""
    from monitor.scoring.spark import runner

    flows = flows_of("hub-heavy")
    listings = listed(flows)
    want = evaluate.evaluate(flows, DEFAULTS, listings, permissioned=True)
    rules = {rule for reasons in want.raw.values() for rule in reasons}
    assert {"watchlist_exposure", "non_kyc_recipient"} <= rules
    assert_same(shards.evaluate_sharded(flows, DEFAULTS, listings, True, k=3, seed=1), want)
    assert_same(runner.evaluate_spark(spark, flows, DEFAULTS, listings, True, k=3), want)
