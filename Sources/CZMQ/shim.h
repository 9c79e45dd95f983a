// libzmq's C API, exposed to Swift as the CZMQ module.
#include <zmq.h>
