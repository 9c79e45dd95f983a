/// The coordinator library: job config, datasets, sampler, dispatcher, learning signal.
public enum CoordinatorModule {}
