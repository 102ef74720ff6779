"""Teachers beyond the scripted experts of `sim.experts`: a stable-baselines3 policy on privileged state
(`sb3_teacher`). Any policy can also teach remotely through `policies.remote`."""
