"""Podium's gthread worker: it takes a new connection only while one of its threads is free.

gunicorn's gthread worker accepts every connection it can, and a kept-alive connection stays
with the worker that accepted it. When a few clients connect at once (a benchmark's 8, a
handful of training jobs), one worker could take them all while the other idled: measured on
2 cores with wrk -c8, every connection on one worker in 5 of 8 scenarios of a run, at about
half the throughput of the same scenario spread over both. Here a worker whose threads are all
busy stops listening until one is free, so the next connection goes to a worker that can serve
it now, or waits in the kernel's backlog until one can. Kept-alive connections already held
are served as before; only new ones are steered. It builds on gunicorn 25's gthread event loop
(pyproject.toml holds gunicorn to 25.x).
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
        super().wait_for_and_dispatch_events(timeout)
