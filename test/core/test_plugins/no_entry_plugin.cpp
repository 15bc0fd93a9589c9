// A shared library that is not a logpipe plugin: it has no entry point.

extern "C" int not_a_logpipe_plugin() {
  return 42;
}
