"""Podium's gthread worker: it takes a new connection only while one of its threads is free.

gunicorn's gthread worker accepts every connection it can, and a kept-alive connection stays
with the worker that accepted it. When a few clients connect at once (a benchmark's 8, a
handful of training jobs), one worker could take them all while the other idled: measured on
2 cores with wrk -c8, every connection on one worker in 5 of 8 scenarios of a run, at about
half the throughput of the same scenario spread over both. Here a worker whose threads are all
busy stops listening until one is free, so the next connection goes to a worker that can serve
it now, or waits in the kernel's backlog until one can. Kept-alive connections already held
are served as before; only new ones are steered.

On SIGTERM, gunicorn's gthread worker waits for its open connections in one poll of up to the
graceful timeout, and an idle kept-alive connection (a client's pool holds one between
requests) ends only after that poll: every stop took the whole PODIUM_GRACEFUL_TIMEOUT (30 s)
while any client was connected. Here idle kept-alive connections are closed as the drain
starts (a request already sent on one is served first), and the drain polls every second, so
a worker stops as soon as its in-flight requests are done.

It builds on gunicorn 25's gthread event loop (pyproject.toml holds gunicorn to 25.x).
"""

from gunicorn.workers.gthread import ThreadWorker


class SpreadingThreadWorker(ThreadWorker):
    def busy_connections(self) -> int:
        """Connections a thread is serving (or that wait for one): not idle, not pending."""
        return self.nr_conns - len(self.keepalived_conns) - len(self.pending_conns)

    def wait_for_and_dispatch_events(self, timeout):
        # run() has just decided from nr_conns alone; narrowed here, right before the wait.
        self.set_accept_enabled(
            self.alive
            and self.nr_conns < self.worker_connections
            and self.busy_connections() < self.cfg.threads
        )
        if not self.alive:  # draining after SIGTERM
            super().wait_for_and_dispatch_events(0)  # a request already sent is served
            self.close_idle_connections()
            timeout = min(timeout, 1.0)
        super().wait_for_and_dispatch_events(timeout)

    def close_idle_connections(self) -> None:
        """Close kept-alive connections no request is using: gunicorn's own expiry, run now."""
        for conn in self.keepalived_conns:
            conn.timeout = 0
        self.murder_keepalived()
