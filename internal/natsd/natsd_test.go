package natsd

import (
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

func TestStartServesJetStreamAndCleansUp(t *testing.T) {
	s, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	dir := s.tmpDir
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	js, err := nc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.AddStream(&nats.StreamConfig{Name: "T", Subjects: []string{"t.>"}}); err != nil {
		t.Fatalf("JetStream not enabled: %v", err)
	}
	if _, err := js.Publish("t.x", []byte("hi"), nats.AckWait(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	nc.Close()
	s.Shutdown()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("temporary store %s not removed: %v", dir, err)
	}
}

func TestStoreDirKept(t *testing.T) {
	dir := t.TempDir()
	s, err := Start(WithStoreDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	s.Shutdown()
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("configured store removed: %v", err)
	}
}
