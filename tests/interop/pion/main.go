// pion-peer: peermesh's interop reference peer on pion/webrtc v3 (Debian's
// golang-github-pion-webrtc.v3-dev). It speaks the peer interface used by
// tests/interop (see tests/interop/README.md): JSON signaling lines on
// stdin/stdout, JSON event lines on stderr, exit 0/1/2/64.
//
// Build offline with tests/interop/build-pion.sh.
package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pion/datachannel"
	"github.com/pion/ice/v2"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v3"
)

const (
	exitOK      = 0
	exitFail    = 1
	exitTimeout = 2
	exitUsage   = 64

	// Sender flow control: never queue more than highWater bytes, and once
	// over it wait until bufferedAmount drains to lowWater.
	highWater = 1 << 20
	lowWater  = 256 << 10
	// A lossy channel may never answer some messages: end the test this long
	// after the last send/reply.
	idleLimit = 2 * time.Second
	// pion's own OnMessage path reads into a 65535-byte buffer, so 64 KiB
	// messages would close the channel; detached channels read into ours.
	readBufSize = 1 << 20
	// How long a closing sender waits for the remote to reset its streams.
	closeWait = 2 * time.Second
)

// godotKinds is Godot's WebRTCMultiplayerPeer channel layout: negotiated
// channels with fixed stream ids.
var godotKinds = map[string]struct {
	id      uint16
	ordered bool
	lossy   bool // maxPacketLifeTime set (1 ms in Godot)
}{
	"reliable":   {1, true, false},
	"ordered":    {2, true, true},
	"unreliable": {3, false, true},
}

type options struct {
	offer, answer       bool
	echo, sink          bool
	send                int
	sizes               []int
	text                bool
	label               string
	protocol            string
	unordered           bool
	maxRetransmits      int
	maxPacketLifeTime   int
	negotiated          bool
	id                  int
	channels            []string
	timeout             time.Duration
	maxSize, period, c0 int
	// ICE servers (one RTCIceServer holding every URL) and policy.
	iceURLs     []string
	iceUser     string
	iceCred     string
	relayOnly   bool
	tlsInsecure bool
	bind        string // "" = 127.0.0.1 only; "any" = every IPv4 address; else that address
}

// urlList collects the repeatable --ice-server flag.
type urlList []string

func (l *urlList) String() string     { return strings.Join(*l, ",") }
func (l *urlList) Set(v string) error { *l = append(*l, v); return nil }

// tlsDialer dials TURN-over-TCP connections for pion (SettingEngine.
// SetICEProxyDialer) and does TLS itself for turns: servers, so that
// --ice-tls-insecure can skip verification (pion 3.1 has no switch for it).
type tlsDialer struct {
	tlsHosts map[string]string // "host:port" -> host, for turns: URLs
	insecure bool
}

func (d tlsDialer) Dial(network, addr string) (net.Conn, error) {
	conn, err := net.Dial(network, addr)
	if err != nil {
		return nil, err
	}
	host, isTLS := d.tlsHosts[addr]
	if !isTLS {
		return conn, nil
	}
	tc := tls.Client(conn, &tls.Config{ServerName: host, InsecureSkipVerify: d.insecure}) //nolint:gosec // test servers
	if err := tc.Handshake(); err != nil {
		conn.Close()
		return nil, err
	}
	return tc, nil
}

var (
	startTime = time.Now()
	stdoutMu  sync.Mutex
	stderrMu  sync.Mutex
)

func sinceStart() float64 {
	return math.Round(float64(time.Since(startTime).Microseconds())/100) / 10
}

// field/object keep JSON keys in the order written ("event" first).
type field struct {
	k string
	v interface{}
}
type object []field

func (o object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(f.k)
		v, err := json.Marshal(f.v)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func logf(format string, args ...interface{}) {
	stderrMu.Lock()
	defer stderrMu.Unlock()
	fmt.Fprintf(os.Stderr, "[pion %8.1fms] %s\n", sinceStart(), fmt.Sprintf(format, args...))
}

// event writes one JSON event line on stderr.
func event(name string, fields ...field) {
	o := append(object{{"event", name}}, fields...)
	o = append(o, field{"ms", sinceStart()})
	b, _ := json.Marshal(o)
	stderrMu.Lock()
	defer stderrMu.Unlock()
	os.Stderr.Write(append(b, '\n'))
}

// signal writes one JSON signaling line on stdout.
func signal(o object) {
	b, _ := json.Marshal(o)
	stdoutMu.Lock()
	defer stdoutMu.Unlock()
	os.Stdout.Write(append(b, '\n'))
}

func parseOptions() *options {
	o := &options{}
	fs := flag.NewFlagSet("pion-peer", flag.ContinueOnError)
	fs.BoolVar(&o.offer, "offer", false, "create the channel(s) and the offer")
	fs.BoolVar(&o.answer, "answer", false, "wait for an offer")
	fs.BoolVar(&o.echo, "echo", false, "send every message back")
	fs.BoolVar(&o.sink, "sink", false, "answer every message with \"ack:<bytes>:<crc32>\"")
	fs.IntVar(&o.send, "send", 0, "send N messages per channel")
	sizes := fs.String("size", "1200", "message sizes, comma separated, used in turn")
	fs.BoolVar(&o.text, "text", false, "send string messages")
	fs.StringVar(&o.label, "label", "data", "channel label")
	fs.StringVar(&o.protocol, "protocol", "", "channel sub-protocol")
	fs.BoolVar(&o.unordered, "unordered", false, "unordered channel")
	fs.IntVar(&o.maxRetransmits, "max-retransmits", -1, "partial reliability: retransmissions")
	fs.IntVar(&o.maxPacketLifeTime, "max-packet-lifetime", -1, "partial reliability: lifetime in ms")
	fs.BoolVar(&o.negotiated, "negotiated", false, "negotiated channel (no DCEP), needs --id")
	fs.IntVar(&o.id, "id", -1, "stream id of the negotiated channel")
	kinds := fs.String("channels", "", "Godot channels: reliable,ordered,unreliable")
	secs := fs.Float64("timeout", 30, "give up (exit 2) after this many seconds")
	var urls urlList
	fs.Var(&urls, "ice-server", "STUN/TURN server URL (repeatable)")
	fs.StringVar(&o.iceUser, "ice-username", "", "username for turn:/turns: servers")
	fs.StringVar(&o.iceCred, "ice-credential", "", "credential for turn:/turns: servers")
	fs.BoolVar(&o.relayOnly, "relay-only", false, "iceTransportPolicy relay")
	fs.BoolVar(&o.tlsInsecure, "ice-tls-insecure", false, "accept a turns: certificate unverified")
	fs.StringVar(&o.bind, "bind", "", "IPv4 address for host candidates (default 127.0.0.1; any = all)")
	fs.SetOutput(os.Stderr)
	fs.Usage = func() {} // usage() below says it once

	usage := func(msg string) {
		fmt.Fprintf(os.Stderr, "pion-peer: %s\n", msg)
		fmt.Fprintln(os.Stderr, "usage: pion-peer (--offer|--answer) [--echo|--sink|--send N [--size B,...] [--text]] "+
			"[--label L] [--protocol P] [--unordered] [--max-retransmits K|--max-packet-lifetime MS] "+
			"[--negotiated --id K|--channels reliable,ordered,unreliable] [--timeout S] "+
			"[--ice-server URL]... [--ice-username U --ice-credential C] [--relay-only] "+
			"[--ice-tls-insecure] [--bind IP|any]")
		os.Exit(exitUsage)
	}
	if err := fs.Parse(os.Args[1:]); err != nil {
		usage(err.Error())
	}
	switch {
	case fs.NArg() > 0:
		usage("unexpected argument " + fs.Arg(0))
	case o.offer == o.answer:
		usage("need exactly one of --offer, --answer")
	case btoi(o.echo)+btoi(o.sink)+btoi(o.send > 0) > 1:
		usage("at most one of --echo, --sink, --send")
	case o.send < 0:
		usage("--send takes a count")
	case o.maxRetransmits >= 0 && o.maxPacketLifeTime >= 0:
		usage("--max-retransmits and --max-packet-lifetime exclude each other")
	case o.maxRetransmits > 65535 || o.maxPacketLifeTime > 65535:
		usage("reliability parameters must fit 16 bits")
	case o.negotiated && (o.id < 0 || o.id > 65534):
		usage("--negotiated needs --id 0..65534")
	case o.negotiated && *kinds != "":
		usage("--negotiated and --channels exclude each other")
	}
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 0 || n > readBufSize {
			usage("bad --size entry " + strconv.Quote(s))
		}
		o.sizes = append(o.sizes, n)
		if n > o.maxSize {
			o.maxSize = n
		}
	}
	if *kinds != "" {
		for _, k := range strings.Split(*kinds, ",") {
			if _, ok := godotKinds[k]; !ok {
				usage("unknown channel kind " + strconv.Quote(k))
			}
			o.channels = append(o.channels, k)
		}
	}
	if *secs <= 0 {
		usage("--timeout must be positive")
	}
	hasTURN := false
	for _, raw := range urls {
		u, err := ice.ParseURL(raw)
		if err != nil || u.Scheme == ice.SchemeTypeSTUNS {
			usage("bad --ice-server " + strconv.Quote(raw))
		}
		hasTURN = hasTURN || u.Scheme == ice.SchemeTypeTURN || u.Scheme == ice.SchemeTypeTURNS
	}
	o.iceURLs = urls
	if hasTURN && (o.iceUser == "" || o.iceCred == "") {
		usage("a turn:/turns: --ice-server needs --ice-username and --ice-credential")
	}
	if o.relayOnly && !hasTURN {
		usage("--relay-only needs a turn:/turns: --ice-server")
	}
	if o.bind != "" && o.bind != "any" && net.ParseIP(o.bind).To4() == nil {
		usage("--bind wants an IPv4 address or any")
	}
	o.timeout = time.Duration(*secs * float64(time.Second))
	// Payload byte j of message i is c0 + (i + j) mod period.
	o.period, o.c0 = 256, 0
	if o.text {
		o.period, o.c0 = 95, 32
	}
	return o
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// channel is one open data channel and its test counters.
type channel struct {
	dc      *webrtc.DataChannel
	rw      datachannel.ReadWriteCloser
	strict  bool // ordered and reliable: replies must come back in order
	sent    int
	replies int   // send mode: replies checked; otherwise messages received
	bytes   int64 // payload bytes sent (send mode) or received
	drained chan struct{}
	ended   chan struct{} // closed when the read loop stops
	isEnded bool
}

type peer struct {
	pairInfo []field // the selected ICE pair, remembered once known (README "Events")
	o        *options
	pattern  []byte // message i is pattern[i%period:][:size]
	pc       *webrtc.PeerConnection

	mu            sync.Mutex
	chans         []*channel
	expected      int
	mid           string
	localDescSent bool
	remoteDescSet bool
	heldLocal     []string // our candidates, held until our description is out
	heldRemote    []webrtc.ICECandidateInit
	firstSend     time.Time
	lastActivity  time.Time
	lastReply     time.Time
	finished      bool
	exitCode      chan int
}

func main() {
	o := parseOptions()
	p := &peer{o: o, mid: "0", exitCode: make(chan int, 1)}
	p.pattern = make([]byte, o.maxSize+o.period)
	for k := range p.pattern {
		p.pattern[k] = byte(o.c0 + k%o.period)
	}
	time.AfterFunc(o.timeout, func() {
		event("result", field{"ok", false}, field{"error", "timeout"}, field{"channels", p.progress()})
		os.Exit(exitTimeout)
	})
	if err := p.setup(); err != nil {
		event("result", field{"ok", false}, field{"error", err.Error()})
		os.Exit(exitFail)
	}
	go p.readSignaling()
	os.Exit(<-p.exitCode)
}

func (p *peer) setup() error {
	var se webrtc.SettingEngine
	// pion's own warnings (e.g. why a DTLS handshake failed) go to stderr;
	// its default writer is stdout, which carries nothing but signaling.
	lf := logging.NewDefaultLoggerFactory() // PION_LOG_<LEVEL>=scopes still work
	lf.Writer = os.Stderr
	if lf.DefaultLogLevel < logging.LogLevelWarn {
		lf.DefaultLogLevel = logging.LogLevelWarn
	}
	if _, set := lf.ScopeLevels["ice"]; !set {
		// Trickle makes ICE warn "no candidate pairs" before the first one.
		lf.ScopeLevels["ice"] = logging.LogLevelError
	}
	se.LoggerFactory = lf
	se.DetachDataChannels()
	// UDP4 host candidates on 127.0.0.1 only (or --bind's address), no mDNS names.
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	switch bind := p.o.bind; bind {
	case "":
		se.SetIncludeLoopbackCandidate(true)
		se.SetIPFilter(func(ip net.IP) bool { return ip.To4() != nil && ip.IsLoopback() })
	case "any":
		se.SetIPFilter(func(ip net.IP) bool { return ip.To4() != nil && !ip.IsLoopback() })
	default:
		want := net.ParseIP(bind)
		se.SetIncludeLoopbackCandidate(want.IsLoopback())
		se.SetIPFilter(func(ip net.IP) bool { return ip.Equal(want) })
	}
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	// The remote's first check often arrives before its trickled candidate,
	// making a peer-reflexive pair; nominate it without pion's 1 s wait.
	se.SetPrflxAcceptanceMinWait(0)

	cfg := webrtc.Configuration{}
	if len(p.o.iceURLs) > 0 {
		cfg.ICEServers = []webrtc.ICEServer{{URLs: p.o.iceURLs, Username: p.o.iceUser,
			Credential: p.o.iceCred, CredentialType: webrtc.ICECredentialTypePassword}}
		dialer := tlsDialer{tlsHosts: map[string]string{}, insecure: p.o.tlsInsecure}
		for _, raw := range p.o.iceURLs {
			if u, err := ice.ParseURL(raw); err == nil && u.Scheme == ice.SchemeTypeTURNS {
				dialer.tlsHosts[net.JoinHostPort(u.Host, strconv.Itoa(u.Port))] = u.Host
			}
		}
		se.SetICEProxyDialer(dialer) // TCP (and TLS) to the TURN servers
	}
	if p.o.relayOnly {
		cfg.ICETransportPolicy = webrtc.ICETransportPolicyRelay
		se.SetRelayAcceptanceMinWait(0) // nothing better than a relay pair can turn up
	}
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(se)).NewPeerConnection(cfg)
	if err != nil {
		return err
	}
	p.pc = pc
	pc.OnICECandidate(p.onLocalCandidate)
	pc.OnICEConnectionStateChange(func(s webrtc.ICEConnectionState) {
		logf("ice %s", s)
		if s == webrtc.ICEConnectionStateConnected || s == webrtc.ICEConnectionStateCompleted {
			go p.notePair() // GetStats runs on the agent's loop: not from its callback
		}
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		logf("peer connection %s", s)
		if s == webrtc.PeerConnectionStateFailed {
			p.fail("peer connection failed")
		}
	})

	// pion 3.1.56 leaves the connection state alone when DTLS fails.
	pc.SCTP().Transport().OnStateChange(func(s webrtc.DTLSTransportState) {
		logf("dtls %s", s)
		if s == webrtc.DTLSTransportStateFailed {
			p.fail("DTLS failed")
		}
	})

	o := p.o
	switch {
	case len(o.channels) > 0:
		lifetime := uint16(1) // Godot's default for its unreliable channels
		if o.maxPacketLifeTime >= 0 {
			lifetime = uint16(o.maxPacketLifeTime)
		}
		for _, k := range o.channels {
			g := godotKinds[k]
			init := &webrtc.DataChannelInit{Ordered: &g.ordered, Negotiated: boolPtr(true), ID: u16Ptr(g.id),
				Protocol: &o.protocol}
			if g.lossy {
				init.MaxPacketLifeTime = &lifetime
			}
			if err := p.create(k, init); err != nil {
				return err
			}
		}
	case o.negotiated || o.offer:
		init := &webrtc.DataChannelInit{Ordered: boolPtr(!o.unordered), Protocol: &o.protocol}
		if o.maxRetransmits >= 0 {
			init.MaxRetransmits = u16Ptr(uint16(o.maxRetransmits))
		}
		if o.maxPacketLifeTime >= 0 {
			init.MaxPacketLifeTime = u16Ptr(uint16(o.maxPacketLifeTime))
		}
		if o.negotiated {
			init.Negotiated, init.ID = boolPtr(true), u16Ptr(uint16(o.id))
		}
		if err := p.create(o.label, init); err != nil {
			return err
		}
	default: // answerer with an in-band channel: take the first one offered
		p.expected = 1
		pc.OnDataChannel(p.watch)
	}

	if o.offer {
		offer, err := pc.CreateOffer(nil)
		if err != nil {
			return err
		}
		if err := pc.SetLocalDescription(offer); err != nil {
			return err
		}
		p.sendDescription(offer)
	}
	return nil
}

func (p *peer) create(label string, init *webrtc.DataChannelInit) error {
	dc, err := p.pc.CreateDataChannel(label, init)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.expected++
	p.mu.Unlock()
	p.watch(dc)
	return nil
}

// sendDescription signals our SDP, then the candidates held back until now.
func (p *peer) sendDescription(d webrtc.SessionDescription) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, line := range strings.Split(d.SDP, "\n") {
		if strings.HasPrefix(line, "a=mid:") {
			p.mid = strings.TrimSpace(strings.TrimPrefix(line, "a=mid:"))
			break
		}
	}
	signal(object{{"type", d.Type.String()}, {"sdp", d.SDP}})
	p.localDescSent = true
	for _, c := range p.heldLocal {
		signal(object{{"type", "candidate"}, {"candidate", c}, {"sdpMid", p.mid}})
	}
	p.heldLocal = nil
}

func (p *peer) onLocalCandidate(c *webrtc.ICECandidate) {
	p.mu.Lock()
	defer p.mu.Unlock()
	text := "" // nil: gathering done, signal end-of-candidates
	if c != nil {
		text = c.ToJSON().Candidate
	}
	if p.localDescSent {
		signal(object{{"type", "candidate"}, {"candidate", text}, {"sdpMid", p.mid}})
	} else {
		p.heldLocal = append(p.heldLocal, text)
	}
}

type signalingMessage struct {
	Type      string  `json:"type"`
	SDP       string  `json:"sdp"`
	Candidate string  `json:"candidate"`
	SDPMid    *string `json:"sdpMid"`
	MLine     *uint16 `json:"sdpMLineIndex"`
}

func (p *peer) readSignaling() {
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var m signalingMessage
		if err := json.Unmarshal(line, &m); err != nil {
			logf("ignoring bad signaling line %q", line)
			continue
		}
		if err := p.onSignal(&m); err != nil {
			p.fail(fmt.Sprintf("signaling %s: %v", m.Type, err))
			return
		}
	}
	// stdin closed: nothing more will arrive; the test may still finish.
}

func (p *peer) onSignal(m *signalingMessage) error {
	switch m.Type {
	case "offer", "answer":
		d := webrtc.SessionDescription{Type: webrtc.NewSDPType(m.Type), SDP: m.SDP}
		if err := p.pc.SetRemoteDescription(d); err != nil {
			return err
		}
		if m.Type == "offer" {
			answer, err := p.pc.CreateAnswer(nil)
			if err != nil {
				return err
			}
			if err := p.pc.SetLocalDescription(answer); err != nil {
				return err
			}
			p.sendDescription(answer)
		}
		p.mu.Lock()
		p.remoteDescSet = true
		held := p.heldRemote
		p.heldRemote = nil
		p.mu.Unlock()
		for _, c := range held {
			p.addRemoteCandidate(c)
		}
	case "candidate":
		c := webrtc.ICECandidateInit{Candidate: m.Candidate, SDPMid: m.SDPMid, SDPMLineIndex: m.MLine}
		p.mu.Lock()
		if !p.remoteDescSet {
			p.heldRemote = append(p.heldRemote, c)
			p.mu.Unlock()
			return nil
		}
		p.mu.Unlock()
		p.addRemoteCandidate(c)
	default:
		logf("ignoring signaling message of type %q", m.Type)
	}
	return nil
}

func (p *peer) addRemoteCandidate(c webrtc.ICECandidateInit) {
	if strings.TrimPrefix(c.Candidate, "candidate:") == "" {
		return // end-of-candidates: pion needs no marker
	}
	if err := p.pc.AddICECandidate(c); err != nil {
		logf("candidate %q rejected: %v", c.Candidate, err)
	}
}

// watch waits for dc to open, then reports it and starts reading.
func (p *peer) watch(dc *webrtc.DataChannel) {
	dc.OnOpen(func() {
		rw, err := dc.Detach()
		if err != nil {
			p.fail("detach: " + err.Error())
			return
		}
		ch := &channel{dc: dc, rw: rw, drained: make(chan struct{}, 1), ended: make(chan struct{})}
		ch.strict = dc.Ordered() && dc.MaxRetransmits() == nil && dc.MaxPacketLifeTime() == nil
		dc.SetBufferedAmountLowThreshold(lowWater)
		dc.OnBufferedAmountLow(func() {
			select {
			case ch.drained <- struct{}{}:
			default:
			}
		})
		event("open", field{"label", dc.Label()}, field{"id", dc.ID()}, field{"ordered", dc.Ordered()},
			field{"maxRetransmits", dc.MaxRetransmits()}, field{"maxPacketLifeTime", dc.MaxPacketLifeTime()},
			field{"negotiated", dc.Negotiated()}, field{"protocol", dc.Protocol()})
		p.mu.Lock()
		p.chans = append(p.chans, ch)
		all := len(p.chans) == p.expected
		p.mu.Unlock()
		go p.readLoop(ch)
		if all {
			p.begin()
		}
	})
}

// begin starts the behaviour once every expected channel is open.
func (p *peer) begin() {
	o := p.o
	switch {
	case o.send > 0:
		p.mu.Lock()
		p.firstSend = time.Now()
		p.lastActivity = p.firstSend
		chans := append([]*channel(nil), p.chans...)
		p.mu.Unlock()
		for _, ch := range chans {
			go p.sendLoop(ch)
		}
		go p.idleWatch()
	case !o.echo && !o.sink:
		p.finish(exitOK, field{"ok", true}, field{"mode", "connect"})
	}
}

func (p *peer) size(i int) int { return p.o.sizes[i%len(p.o.sizes)] }

func (p *peer) message(i int) []byte {
	off := i % p.o.period
	return p.pattern[off : off+p.size(i)]
}

func (p *peer) sendLoop(ch *channel) {
	for i := 0; i < p.o.send; i++ {
		msg := p.message(i)
		if ba := ch.dc.BufferedAmount(); ba > 0 && ba+uint64(len(msg)) > highWater {
			for ch.dc.BufferedAmount() > lowWater {
				select {
				case <-ch.drained:
				case <-time.After(20 * time.Millisecond):
				}
			}
		}
		if _, err := ch.rw.WriteDataChannel(msg, p.o.text); err != nil {
			p.fail(fmt.Sprintf("send #%d (%d bytes) on %q: %v", i, len(msg), ch.dc.Label(), err))
			return
		}
		p.mu.Lock()
		ch.sent++
		ch.bytes += int64(len(msg))
		p.lastActivity = time.Now()
		p.mu.Unlock()
	}
}

func (p *peer) readLoop(ch *channel) {
	buf := make([]byte, readBufSize)
	for {
		n, isString, err := ch.rw.ReadDataChannel(buf)
		if err != nil {
			p.channelEnded(ch, err)
			return
		}
		data := buf[:n]
		switch {
		case p.o.echo:
			_, err = ch.rw.WriteDataChannel(data, isString)
		case p.o.sink:
			_, err = ch.rw.WriteDataChannel([]byte(fmt.Sprintf("ack:%d:%08x", n, crc32.ChecksumIEEE(data))), true)
		case p.o.send > 0:
			err = p.checkReply(ch, data, isString)
		}
		if err != nil {
			p.fail(fmt.Sprintf("channel %q: %v", ch.dc.Label(), err))
			return
		}
		if p.o.send == 0 {
			p.mu.Lock()
			ch.replies++
			ch.bytes += int64(n)
			p.mu.Unlock()
		}
	}
}

// checkReply accepts an echo (same type and bytes) or an "ack:<bytes>:<crc32>"
// string: the CRC-32 of message k on a strict channel, else of a message sent so far.
func (p *peer) checkReply(ch *channel, data []byte, isString bool) error {
	p.mu.Lock()
	k, sent := ch.replies, ch.sent
	p.mu.Unlock()
	n, ack := len(data), false
	if isString && bytes.HasPrefix(data, []byte("ack:")) {
		var crc uint32
		f := strings.Split(string(data[4:]), ":")
		v, err := strconv.Atoi(f[0])
		if err == nil && len(f) == 2 && len(f[1]) == 8 {
			var c uint64
			c, err = strconv.ParseUint(f[1], 16, 32)
			crc = uint32(c)
		} else if err == nil {
			err = errors.New("no CRC")
		}
		if err != nil {
			return fmt.Errorf("reply %d: bad ack %q", k, data)
		}
		if !p.ackMatches(k, sent, ch.strict, v, crc) {
			return fmt.Errorf("reply %d: ack %q matches no message sent", k, data)
		}
		n, ack = v, true
	} else if isString != p.o.text {
		return fmt.Errorf("reply %d: got a %s message", k, map[bool]string{true: "string", false: "binary"}[isString])
	}
	if ch.strict && n != p.size(k) {
		return fmt.Errorf("reply %d: %d bytes, expected %d", k, n, p.size(k))
	}
	if !p.isSize(n) {
		return fmt.Errorf("reply %d: %d bytes is no size we sent", k, n)
	}
	if !ack && n > 0 {
		off := int(data[0]) - p.o.c0 // lossy channels: check the pattern from its first byte
		if ch.strict {
			off = k % p.o.period
		}
		if off < 0 || off >= p.o.period || !bytes.Equal(data, p.pattern[off:off+n]) {
			return fmt.Errorf("reply %d: payload differs from what was sent", k)
		}
	}
	p.mu.Lock()
	ch.replies++
	p.lastReply = time.Now()
	p.lastActivity = p.lastReply
	complete := true
	for _, c := range p.chans {
		complete = complete && c.replies == p.o.send
	}
	p.mu.Unlock()
	if complete {
		p.finishSend()
	}
	return nil
}

// ackMatches: an ack's CRC is that of message k (strict channel) or of some
// message sent so far (its size and pattern offset repeat after len(sizes) x period).
func (p *peer) ackMatches(k, sent int, strict bool, n int, crc uint32) bool {
	if strict {
		return len(p.message(k)) == n && crc32.ChecksumIEEE(p.message(k)) == crc
	}
	for i := 0; i < sent && i < len(p.o.sizes)*p.o.period; i++ {
		if p.size(i) == n && crc32.ChecksumIEEE(p.message(i)) == crc {
			return true
		}
	}
	return false
}

func (p *peer) isSize(n int) bool {
	for _, s := range p.o.sizes {
		if s == n {
			return true
		}
	}
	return false
}

// idleWatch ends a send test whose lossy channels dropped some messages.
func (p *peer) idleWatch() {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for range tick.C {
		p.mu.Lock()
		if p.finished {
			p.mu.Unlock()
			return
		}
		waiting := false // a message is unsent, or a reliable channel owes replies
		for _, c := range p.chans {
			waiting = waiting || c.sent < p.o.send || (c.strict && c.replies < c.sent)
		}
		idle := !waiting && time.Since(p.lastActivity) > idleLimit
		p.mu.Unlock()
		if idle {
			p.finishSend()
			return
		}
	}
}

func (p *peer) progress() []object {
	p.mu.Lock()
	defer p.mu.Unlock()
	list := []object{}
	for _, c := range p.chans {
		list = append(list, object{{"label", c.dc.Label()}, {"sent", c.sent}, {"replies", c.replies},
			{"lost", c.sent - c.replies}})
	}
	return list
}

func (p *peer) finishSend() {
	p.mu.Lock()
	var problems []string
	var sent, replies int
	var total int64
	for _, c := range p.chans {
		if c.strict && c.replies < c.sent {
			problems = append(problems, fmt.Sprintf("%q lost %d of %d messages on a reliable channel",
				c.dc.Label(), c.sent-c.replies, c.sent))
		}
		sent += c.sent
		replies += c.replies
		total += c.bytes
	}
	elapsed := p.lastReply.Sub(p.firstSend).Seconds()
	if p.lastReply.IsZero() {
		elapsed = 0
	}
	p.mu.Unlock()
	fields := []field{{"ok", len(problems) == 0}, {"mode", "send"}, {"messages", sent}, {"replies", replies},
		{"bytes", total}, {"elapsed_ms", math.Round(elapsed*1e4) / 10}}
	if elapsed > 0 {
		fields = append(fields, field{"mb_per_s", math.Round(float64(total)/elapsed/1e4) / 100})
	}
	fields = append(fields, field{"channels", p.progress()})
	code := exitOK
	if len(problems) > 0 {
		fields = append(fields, field{"error", strings.Join(problems, "; ")})
		code = exitFail
	}
	p.finish(code, fields...)
}

// channelEnded runs when a read loop stops: the remote reset the stream, or
// we closed it.
func (p *peer) channelEnded(ch *channel, err error) {
	if !errors.Is(err, io.EOF) {
		logf("channel %q: read ended: %v", ch.dc.Label(), err)
	} else {
		logf("channel %q closed", ch.dc.Label())
	}
	p.mu.Lock()
	ch.isEnded = true
	close(ch.ended)
	if p.finished {
		p.mu.Unlock()
		return
	}
	allEnded := len(p.chans) == p.expected
	var msgs int
	var total int64
	for _, c := range p.chans {
		allEnded = allEnded && c.isEnded
		msgs += c.replies
		total += c.bytes
	}
	p.mu.Unlock()
	switch {
	case p.o.send > 0:
		p.fail(fmt.Sprintf("channel %q closed before the test ended", ch.dc.Label()))
	case (p.o.echo || p.o.sink) && allEnded:
		mode := "sink"
		if p.o.echo {
			mode = "echo"
		}
		p.finish(exitOK, field{"ok", true}, field{"mode", mode}, field{"messages", msgs}, field{"bytes", total})
	}
}

func (p *peer) fail(msg string) {
	p.finish(exitFail, field{"ok", false}, field{"error", msg})
}

// finish reports the result once, then closes everything and exits.
// notePair remembers the selected candidate pair: types, addresses and, for
// a relay, the protocol to the TURN server (only in the stats).
func (p *peer) notePair() {
	pair, err := p.pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil {
		return
	}
	info := []field{{"local_candidate_type", pair.Local.Typ.String()},
		{"remote_candidate_type", pair.Remote.Typ.String()},
		{"local_candidate", net.JoinHostPort(pair.Local.Address, strconv.Itoa(int(pair.Local.Port)))},
		{"remote_candidate", net.JoinHostPort(pair.Remote.Address, strconv.Itoa(int(pair.Remote.Port)))}}
	if pair.Local.Typ == webrtc.ICECandidateTypeRelay {
		for _, st := range p.pc.GetStats() {
			if c, ok := st.(webrtc.ICECandidateStats); ok && c.Type == webrtc.StatsTypeLocalCandidate &&
				c.IP == pair.Local.Address && c.Port == int32(pair.Local.Port) && c.RelayProtocol != "" {
				info = append(info, field{"relay_protocol", c.RelayProtocol})
			}
		}
	}
	logf("selected pair %s %s -> %s %s", pair.Local.Typ, info[2].v, pair.Remote.Typ, info[3].v)
	p.mu.Lock()
	p.pairInfo = info
	p.mu.Unlock()
}

func (p *peer) finish(code int, fields ...field) {
	p.mu.Lock()
	if p.finished {
		p.mu.Unlock()
		return
	}
	p.finished = true
	chans := append([]*channel(nil), p.chans...)
	fields = append(fields, p.pairInfo...)
	p.mu.Unlock()
	event("result", fields...)
	go func() {
		// Reset our streams and give the remote a moment to reset its side.
		for _, c := range chans {
			c.rw.Close()
		}
		deadline := time.After(closeWait)
	wait:
		for _, c := range chans {
			select {
			case <-c.ended:
			case <-deadline:
				break wait
			}
		}
		p.pc.Close()
		p.exitCode <- code
	}()
}

func boolPtr(b bool) *bool    { return &b }
func u16Ptr(v uint16) *uint16 { return &v }
