"""Teacher episodes on disk: recording (`collect`), the HDF5 layout (`hdf5`), the shared rollout loop
(`rollout`), training arrays (`arrays`) and a tiny stand-in task for tests (`toy`)."""
