/* peermesh/peermesh.h — umbrella header: include this to get the whole public API. */
#ifndef PEERMESH_H
#define PEERMESH_H

#include "peermesh/common.h"
#include "peermesh/rtc.h"
#include "peermesh/multiplayer.h"
#include "peermesh/mesh.h"
#include "peermesh/enet.h"
#include "peermesh/variant.h"
#include "peermesh/rpc.h"
#include "peermesh/websocket.h"
#include "peermesh/signaling.h"

#endif
