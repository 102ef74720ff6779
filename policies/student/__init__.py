"""The distilled vision-language student: pixels + proprioception + instruction -> action chunk.

`model` (the network and its config), `text` (hashed bag-of-words instruction encoder and its
sentence-encoder targets, training only), `runtime` (`load_student(path)`: any saved form as a
`Policy`). Trained by `policies.distill`, exported by `policies.export`.
"""
