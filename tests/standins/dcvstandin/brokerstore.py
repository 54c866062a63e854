# TEST DOUBLE: part of the dcvkit test stand-ins for the Amazon DCV packages (tests/standins).
# Not Amazon software; used only by the collection's tests and lab.
"""Where the broker stand-in keeps what it knows: one small interface, so that the broker does not care.

Records are JSON objects filed by kind and id. Every read hands out a copy and every change goes through put(),
replace() or delete(): the broker behaves the same whether its records live in memory or in a database, and a
change it forgets to store shows in the in-memory store too.

* ``LocalStore`` (persistence off, and DynamoDB, which the stand-in does not model): sessions, servers and pending
  commands in memory; API clients, agent clients and DNS mappings also in ``standin-state.json``, so a restart
  keeps them, as before persistence existed in the stand-in.
* ``brokermysql.MySQLStore`` (``enable-persistence = true``, ``persistence-db = mysql``): every kind in the
  configured database.
"""

import copy
import threading

from dcvstandin import common

# sessions and servers (with the commands queued for each server's agent), the connection tokens handed out (by the
# SHA-256 of the token: a copy of the store opens no desktop), and the credentials and mappings. sm-admin "Configuring
# broker persistence" lists what persistence keeps: the keys that set up connections with clients, in-flight
# sessions, the DCV servers' status. So with it a URL handed out before a restart still opens its session after it,
# through any broker of the cluster; without it a restart forgets the tokens with the sessions.
KINDS = ("sessions", "servers", "commands", "connection_tokens", "api_clients", "agent_clients", "dns_mappings")
# what standin-state.json has always held; the rest lived in memory
FILE_KINDS = ("api_clients", "agent_clients", "dns_mappings")


class StoreError(Exception):
    """The store cannot answer (the database went away); the message says why, without credentials."""


def _check_kind(kind):
    if kind not in KINDS:
        raise KeyError("unknown record kind %r (known: %s)" % (kind, ", ".join(KINDS)))


class Store:
    """The interface: records by kind and id, in the order they were first stored."""

    description = "store"

    def get(self, kind, record_id):
        """A copy of the record, or None."""
        raise NotImplementedError

    def put(self, kind, record_id, record):
        """Store the record under the id (a new id goes last, an existing one keeps its place)."""
        raise NotImplementedError

    def delete(self, kind, record_id):
        """Remove the record; True when there was one."""
        raise NotImplementedError

    def items(self, kind):
        """[(id, copy of the record)] in the order the ids were first stored."""
        raise NotImplementedError

    def replace(self, kind, records):
        """Make the kind hold exactly these (id, record) pairs, in this order."""
        raise NotImplementedError

    def values(self, kind):
        return [record for _record_id, record in self.items(kind)]

    def pop(self, kind, record_id):
        """Remove and return the record (None when there was none)."""
        record = self.get(kind, record_id)
        if record is not None:
            self.delete(kind, record_id)
        return record

    def close(self):
        """Release what the store holds open."""


class MemoryStore(Store):
    """Every record in memory: gone when the process ends."""

    description = "memory"

    def __init__(self):
        self._lock = threading.RLock()
        self._records = {kind: {} for kind in KINDS}

    def get(self, kind, record_id):
        _check_kind(kind)
        with self._lock:
            return copy.deepcopy(self._records[kind].get(record_id))

    def put(self, kind, record_id, record):
        _check_kind(kind)
        with self._lock:
            self._records[kind][record_id] = copy.deepcopy(record)
            self._changed(kind)

    def delete(self, kind, record_id):
        _check_kind(kind)
        with self._lock:
            existed = self._records[kind].pop(record_id, None) is not None
            if existed:
                self._changed(kind)
            return existed

    def items(self, kind):
        _check_kind(kind)
        with self._lock:
            return copy.deepcopy(list(self._records[kind].items()))

    def replace(self, kind, records):
        _check_kind(kind)
        with self._lock:
            self._records[kind] = dict(copy.deepcopy(list(records)))
            self._changed(kind)

    def _changed(self, kind):
        """Hook for subclasses that keep some kinds elsewhere too."""


class LocalStore(MemoryStore):
    """Memory, plus standin-state.json for API clients, agent clients and DNS mappings (the file's format is the
    one the stand-in always wrote: mappings as a list, the clients as objects by id)."""

    def __init__(self, state_file):
        super().__init__()
        self.state_file = state_file
        self.description = "memory (API clients, agent clients and DNS mappings also in %s)" % state_file
        state = common.load_json(state_file, {})
        for kind in ("api_clients", "agent_clients"):
            self._records[kind] = dict(state.get(kind) or {})
        self._records["dns_mappings"] = dict(mapping_items(state.get("dns_mappings") or []))

    def _changed(self, kind):
        if kind in FILE_KINDS:
            common.save_json(self.state_file, {
                "api_clients": self._records["api_clients"],
                "agent_clients": self._records["agent_clients"],
                "dns_mappings": list(self._records["dns_mappings"].values()),
            })


def mapping_items(mappings):
    """DNS mappings are a list: filed under their position, zero-padded so that the ids sort in list order."""
    return [("%06d" % index, mapping) for index, mapping in enumerate(mappings)]
