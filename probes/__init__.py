"""What users and the control plane saw during a run, and the figures computed from it.

Samplers (healthy capacity from VM listings, a synthetic traffic probe), the timeline that puts
every request, sample and fault event on one clock, and the metrics (capacity, failover,
recovery, error rates, latency) with the sampling resolution each rests on.
"""
