"""The traffic users would send: the Locust traffic model (locustfile.py) and the runner that
starts, bounds and stops Locust as a subprocess and collects its per-request logs."""
