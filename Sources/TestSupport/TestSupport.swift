/// Test doubles shared by the test targets (manual clock, fixture paths). Never linked into `arbor`.
public enum TestSupport {}
