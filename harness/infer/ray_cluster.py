"""Model servers placed on a Ray cluster (`[run] executor = "ray"`).

Every model of a `[[backend]]` whose kind starts its own server
(`Backend.serve`: embedded llama.cpp) gets `replicas` Ray actors holding the
resources the entry declares (`num_cpus`, `num_gpus`, `resources`); each
starts the server on its node and reports its URL. This process, the driver,
keeps the rest: requests go from here straight to those URLs through the
pool that load-balances `urls` (`BackendPool`), and the cache, parsing and
scoring stay here. A replica whose server stops answering is dropped by the
pool; where Ray restarts its actor (`max_restarts`), the new server's URL is
taken back. Ray is optional (`pip install 'nerbench[ray]'`) and imported
only by a run that asks for it.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nerbench.bases import Backend
from nerbench.config.settings import BackendEntry
from nerbench.errors import BackendError, NerbenchError
from nerbench.infer.pool import BackendPool
from nerbench.records import Generation, Request

RAY_INSTALL = "pip install 'nerbench[ray]'"
#: Where replica actors are named (each name carries the run's own token).
NAMESPACE = "nerbench"
#: How long Ray may take to place and start a backend's replicas.
PLACEMENT_TIMEOUT_S = 600.0
#: How long the address check waits for the cluster to accept a connection.
CONNECT_TIMEOUT_S = 10.0


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise NerbenchError(f'[run] executor = "ray" needs Ray; run: {RAY_INSTALL}') from None
    return ray


@dataclass(frozen=True)
class Placement:
    """What a `[[backend]]` entry asks of the cluster for each of its models."""

    replicas: int = 1
    num_cpus: float = 1
    num_gpus: float = 0
    resources: dict[str, float] = field(default_factory=dict)
    max_restarts: int = 3

    @classmethod
    def of(cls, entry: BackendEntry) -> Placement:
        return cls(**entry.placement)

    def actor_options(self) -> dict[str, Any]:
        # Restarted actors run their constructor again (a new server); calls
        # made meanwhile wait for it instead of failing.
        return {"num_cpus": self.num_cpus, "num_gpus": self.num_gpus, "resources": dict(self.resources),
                "max_restarts": self.max_restarts, "max_task_retries": -1 if self.max_restarts else 0,
                "namespace": NAMESPACE}

    def per_replica(self) -> dict[str, float]:
        """Resources one replica holds."""
        return {k: v for k, v in {"CPU": self.num_cpus, "GPU": self.num_gpus, **self.resources}.items() if v}

    def needs(self, models: int) -> dict[str, float]:
        """Resources all of an entry's replicas hold at once."""
        return {name: amount * self.replicas * models for name, amount in self.per_replica().items()}


class Cluster:
    """The run's Ray session: joined on first use — the session this process
    already has, else the cluster at `address` ("auto": the one `ray start`
    left for this machine; "local": a new one for this run alone; or
    HOST:PORT, ray://HOST:PORT) — and left when its last user is done, if
    this run joined it."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.users = 0
        self.joined = False

    def check(self) -> None:
        """Before any work: the cluster at `address` must accept a connection
        within `CONNECT_TIMEOUT_S` (Ray itself would retry an address where no
        cluster listens for ever); "local" starts one and needs no check."""
        ray = import_ray()
        if self.address == "local" or ray.is_initialized():
            return
        from ray._private.services import canonicalize_bootstrap_address

        target = self.address.removeprefix("ray://")
        try:
            found = canonicalize_bootstrap_address(target)
        except (ConnectionError, ValueError) as exc:
            raise NerbenchError(f"[run] address {self.address!r}: cannot join a Ray cluster: {_why(exc)} (start one "
                                'with `ray start --head`, or set address = "local" for one of this run\'s own)'
                                ) from None
        if found is None:
            return
        host, _, port = found.rpartition(":")
        try:
            socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
        except (OSError, ValueError) as exc:
            raise NerbenchError(f"[run] address {self.address!r}: cannot join a Ray cluster: no Ray cluster answers at "
                                f"{found} within {CONNECT_TIMEOUT_S:g} s ({getattr(exc, 'strerror', None) or exc}) "
                                '(start one with `ray start --head`, or set address = "local" for one of this run\'s '
                                "own)") from None

    def join(self) -> None:
        ray = import_ray()
        self.users += 1
        if ray.is_initialized():
            return
        try:
            # The replicas' servers log to their workers' files, not to this terminal.
            ray.init(address=self.address, log_to_driver=False, namespace=NAMESPACE)
        except Exception as exc:  # Ray says why in many types; all of them mean "no cluster to join"
            self.users -= 1
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise NerbenchError(f"[run] address {self.address!r}: cannot join a Ray cluster: {first} (start "
                                "one with `ray start --head`, or set address = \"local\" for one of this run's own)"
                                ) from None
        self.joined = True

    def leave(self) -> None:
        self.users -= 1
        if self.users <= 0 and self.joined:
            import_ray().shutdown()
            self.joined = False

    def describe(self) -> dict[str, Any]:
        ray = import_ray()
        nodes = [{"node_id": n["NodeID"], "address": n["NodeManagerAddress"], "alive": n["Alive"],
                  "resources": {k: v for k, v in n["Resources"].items() if not k.startswith("node:")}}
                 for n in ray.nodes()]
        return {"address": self.address, "ray_version": ray.__version__, "nodes": nodes,
                "resources": {k: v for k, v in ray.cluster_resources().items() if not k.startswith("node:")}}


class ReplicaServer:
    """A replica actor: on its node, a backend of the entry's kind serving one
    model. The server starts in the constructor, so an actor that Ray
    restarts starts a new one."""

    def __init__(self, cls: type[Backend], name: str, options: dict[str, Any], base_dir: str, model: str) -> None:
        import ray

        self.backend = cls(name, options)
        self.backend.base_dir = Path(base_dir)
        self.model = model
        self.node = ray.get_runtime_context().get_node_id()
        self.url = self.backend.serve(model, ray.util.get_node_ip_address())

    def where(self) -> dict[str, Any]:
        return {"url": self.url, "node": self.node, "pid": os.getpid(), "concurrency": self.backend.concurrency}

    async def describe(self) -> dict[str, Any]:
        return dict(await self.backend.describe(self.model))


def _why(exc: BaseException) -> str:
    """The last line of what Ray says (its messages carry whole tracebacks)."""
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else type(exc).__name__


async def ask(label: str, call: Any) -> Any:
    """Await an actor call; a dead actor is a lost connection, an error the
    actor raised is raised here."""
    ray = import_ray()
    try:
        return await call
    except ray.exceptions.RayTaskError as exc:
        cause = exc.cause if isinstance(exc.cause, Exception) else exc
        if isinstance(cause, NerbenchError):
            raise cause from None
        raise NerbenchError(f"replica {label}: {_why(cause)}") from None
    except ray.exceptions.RayError as exc:
        raise BackendError(f"replica {label} is gone: {_why(exc)}", transient=True, cause="connection") from None


@dataclass
class Incarnation:
    """One life of a replica actor: where its server listened, what it answered."""

    url: str
    node: str
    answered: int = 0


class RayReplica(Backend):
    """The driver's side of one replica actor: requests go to its server's URL
    (through the kind's `client_for`); provenance comes from the actor. When the
    server stops answering, the actor is asked where it is: if Ray restarted
    it, `on_back` readmits this replica with the new server."""

    def __init__(self, name: str, label: str, actor: Any, client_of: Callable[[str], Backend]) -> None:
        super().__init__(name, {})
        self.label = label
        self.actor = actor
        self.client_of = client_of
        self.lives: list[Incarnation] = []
        self.on_back: Callable[[Backend], None] | None = None
        self._client: Backend | None = None
        self._concurrency = 1
        self._recovery: asyncio.Task[None] | None = None

    @property
    def endpoint(self) -> str:
        return self.label  # stable across restarts: the pool drops and readmits it by this name

    @property
    def concurrency(self) -> int:
        return self._concurrency

    @property
    def adaptive(self) -> bool:
        return False  # its server's capacity is the kind's own setting

    async def _locate(self) -> None:
        where = await ask(self.label, self.actor.where.remote())
        self._concurrency = int(where["concurrency"])
        if not self.lives or self.lives[-1].url != where["url"]:
            self.lives.append(Incarnation(where["url"], where["node"]))
            old, self._client = self._client, self.client_of(where["url"])
            if old is not None:
                await old.aclose()

    async def start(self) -> None:
        await self._locate()

    async def generate(self, request: Request) -> Generation:
        assert self._client is not None, "start() first"
        try:
            generation = await self._client.generate(request)
        except BackendError as exc:
            if exc.cause == "connection" and (self._recovery is None or self._recovery.done()):
                self._recovery = asyncio.create_task(self._come_back())
            raise
        self.lives[-1].answered += 1
        return generation

    async def _come_back(self) -> None:
        """Wait for Ray to restart the actor; readmit it once its server answers."""
        try:
            await self._locate()
            await self._client.models()  # type: ignore[union-attr]
        except NerbenchError:
            return  # gone for good: it stays dropped
        if self.on_back is not None:
            self.on_back(self)

    async def describe(self, model: str) -> dict[str, Any]:
        return await ask(self.label, self.actor.describe.remote())

    async def models(self) -> list[str]:
        assert self._client is not None, "start() first"
        return await self._client.models()

    async def health(self) -> dict[str, Any]:
        return {"ok": True, "url": self.lives[-1].url if self.lives else None, "models": await self.models()}

    async def aclose(self) -> None:
        if self._recovery is not None:
            self._recovery.cancel()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def report(self) -> dict[str, Any]:
        return {"replica": self.label, "answered": sum(life.answered for life in self.lives),
                "restarts": max(0, len(self.lives) - 1),
                "lives": [{"url": life.url, "node": life.node, "answered": life.answered} for life in self.lives]}


class RayBackend(Backend):
    """One `[[backend]]` entry placed on the cluster: for each of its models,
    a pool of `replicas` replica actors."""

    def __init__(self, name: str, cls: type[Backend], options: dict[str, Any], models: list[str],
                 placement: Placement, cluster: Cluster, base_dir: Path) -> None:
        super().__init__(name, options)
        self.base_dir = base_dir
        self.kind = cls
        self.model_ids = list(dict.fromkeys(models))
        self.placement = placement
        self.cluster = cluster
        self.pools: dict[str, BackendPool] = {}
        self.cluster_info: dict[str, Any] = {}
        self._local = cls(name, options)  # what the kind says without a server: answer options, capacity
        self._local.base_dir = base_dir
        self._actors: list[Any] = []
        self._joined = False

    @property
    def endpoint(self) -> str:
        return f"ray:{self.name}"

    @property
    def concurrency(self) -> int:
        # One model at a time per endpoint: the widest pool bounds what is in flight.
        if self.pools:
            return max(pool.concurrency for pool in self.pools.values())
        return self.placement.replicas * self._local.concurrency

    @property
    def adaptive(self) -> bool:
        return False

    def answer_options(self) -> dict[str, Any]:
        return self._local.answer_options()

    async def start(self) -> None:
        # In this thread, not a worker thread: the processes of a local cluster
        # die with the thread that started them.
        self.cluster.join()
        self._joined = True
        ray = import_ray()
        needs = self.placement.needs(len(self.model_ids))
        has = await asyncio.to_thread(ray.cluster_resources)
        short = {k: v for k, v in needs.items() if has.get(k, 0) < v}
        if short:
            raise NerbenchError(
                f"backend {self.name!r}: {self.placement.replicas} replica(s) of {len(self.model_ids)} model(s) "
                f"need {needs}; the Ray cluster has {({k: has.get(k, 0) for k in needs})} (lower replicas, "
                "num_cpus or num_gpus, or add nodes)")
        token = uuid.uuid4().hex[:8]
        remote = ray.remote(ReplicaServer)
        for model in self.model_ids:
            replicas = []
            for i in range(1, self.placement.replicas + 1):
                label = f"{self.name}/{model}#{i}"
                actor = remote.options(name=f"{label}@{token}", **self.placement.actor_options()).remote(
                    self.kind, self.name, self.options, str(self.base_dir), model)
                self._actors.append(actor)
                replicas.append(RayReplica(self.name, label, actor, self._local.client_for))
            pool = BackendPool(self.name, replicas)
            for replica in replicas:
                replica.on_back = pool.readmit
            self.pools[model] = pool
        try:
            await asyncio.wait_for(asyncio.gather(*(pool.start() for pool in self.pools.values())),
                                   PLACEMENT_TIMEOUT_S)
        except TimeoutError:
            raise NerbenchError(f"backend {self.name!r}: Ray did not start its replicas in {PLACEMENT_TIMEOUT_S:.0f} s "
                                f"(each needs {self.placement.per_replica()}; is the cluster busy?)") from None
        self.cluster_info = await asyncio.to_thread(self.cluster.describe)

    def _pool(self, model: str) -> BackendPool:
        if model not in self.pools:
            raise NerbenchError(f"backend {self.name!r} has no replicas of model {model!r}")
        return self.pools[model]

    async def generate(self, request: Request) -> Generation:
        return await self._pool(request.model).generate(request)

    async def describe(self, model: str) -> dict[str, Any]:
        info = await self._pool(model).describe(model)
        info["placement"] = {"replicas": self.placement.replicas, "per_replica": self.placement.per_replica()}
        return info

    async def models(self) -> list[str]:
        return list(self.pools)

    async def health(self) -> dict[str, Any]:
        reports = {model: await pool.health() for model, pool in self.pools.items()}
        return {"ok": all(r["ok"] for r in reports.values()), "models": reports}

    async def aclose(self) -> None:
        for pool in self.pools.values():
            await pool.aclose()
        if self._actors:
            ray = import_ray()
            for actor in self._actors:
                ray.kill(actor, no_restart=True)
            self._actors.clear()
        if self._joined:
            self._joined = False
            self.cluster.leave()

    def report(self) -> dict[str, Any]:
        """The cluster as the replicas found it, and who answered how much."""
        replicas = [{"model": model, **replica.report(), "dropped": replica.endpoint in pool.lost}
                    for model, pool in self.pools.items() for replica in pool.replicas
                    if isinstance(replica, RayReplica)]
        return {"cluster": self.cluster_info, "placement": self.placement.per_replica(), "replicas": replicas}

