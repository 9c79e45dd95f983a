/// The worker library: engine, tools and sandboxes, tree rollout driver and node loop.
public enum WorkerModule {}
