package etcd2

import (
	"context"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/tabletd/tablet/topo"
)

// Create implements topo.Conn.
func (c *Conn) Create(ctx context.Context, p string, contents []byte) (topo.Version, error) {
	_, key, err := c.start(ctx, "create", p, true)
	if err != nil {
		return 0, err
	}
	resp, err := c.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.Version(key), "=", 0)).
		Then(clientv3.OpPut(key, string(contents))).
		Commit()
	if err != nil {
		return 0, c.convertError(ctx, "create", key, err)
	}
	if !resp.Succeeded {
		return 0, topo.NewError(topo.NodeExists, "create", key, nil)
	}
	return topo.Version(resp.Header.Revision), nil
}

// Update implements topo.Conn.
func (c *Conn) Update(ctx context.Context, p string, contents []byte, version topo.Version) (topo.Version, error) {
	_, key, err := c.start(ctx, "update", p, true)
	if err != nil {
		return 0, err
	}
	if version == 0 {
		resp, err := c.cli.Put(ctx, key, string(contents))
		if err != nil {
			return 0, c.convertError(ctx, "update", key, err)
		}
		return topo.Version(resp.Header.Revision), nil
	}
	resp, err := c.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.ModRevision(key), "=", int64(version))).
		Then(clientv3.OpPut(key, string(contents))).
		Else(clientv3.OpGet(key, clientv3.WithKeysOnly())).
		Commit()
	if err != nil {
		return 0, c.convertError(ctx, "update", key, err)
	}
	if !resp.Succeeded {
		return 0, mismatch("update", key, version, resp)
	}
	return topo.Version(resp.Header.Revision), nil
}

// mismatch tells NoNode from BadVersion after a failed compare, from the
// Else branch's read of the key.
func mismatch(op, key string, want topo.Version, resp *clientv3.TxnResponse) error {
	if len(resp.Responses) == 1 {
		if kvs := resp.Responses[0].GetResponseRange().GetKvs(); len(kvs) > 0 {
			return topo.NewError(topo.BadVersion, op, key, versionMismatch(want, kvs[0].ModRevision))
		}
	}
	return topo.NewError(topo.NoNode, op, key, nil)
}

// Get implements topo.Conn.
func (c *Conn) Get(ctx context.Context, p string) ([]byte, topo.Version, error) {
	_, key, err := c.start(ctx, "get", p, true)
	if err != nil {
		return nil, 0, err
	}
	resp, err := c.cli.Get(ctx, key)
	if err != nil {
		return nil, 0, c.convertError(ctx, "get", key, err)
	}
	if len(resp.Kvs) == 0 {
		return nil, 0, topo.NewError(topo.NoNode, "get", key, nil)
	}
	return resp.Kvs[0].Value, topo.Version(resp.Kvs[0].ModRevision), nil
}

// List implements topo.Conn.
func (c *Conn) List(ctx context.Context, dirPath string) ([]topo.DirEntry, error) {
	rel, key, err := c.start(ctx, "list", dirPath, false)
	if err != nil {
		return nil, err
	}
	prefix := topo.DirPrefix(c.root, rel)
	resp, err := c.cli.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return nil, c.convertError(ctx, "list", key, err)
	}
	keys := make([]string, len(resp.Kvs))
	for i, kv := range resp.Kvs {
		keys[i] = string(kv.Key)
	}
	entries := topo.ChildEntries(prefix, keys)
	if len(entries) == 0 {
		return nil, topo.NewError(topo.NoNode, "list", key, nil)
	}
	return entries, nil
}

// Delete implements topo.Conn.
func (c *Conn) Delete(ctx context.Context, p string, version topo.Version) error {
	_, key, err := c.start(ctx, "delete", p, true)
	if err != nil {
		return err
	}
	if version == 0 {
		resp, err := c.cli.Delete(ctx, key)
		if err != nil {
			return c.convertError(ctx, "delete", key, err)
		}
		if resp.Deleted == 0 {
			return topo.NewError(topo.NoNode, "delete", key, nil)
		}
		return nil
	}
	resp, err := c.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.ModRevision(key), "=", int64(version))).
		Then(clientv3.OpDelete(key)).
		Else(clientv3.OpGet(key, clientv3.WithKeysOnly())).
		Commit()
	if err != nil {
		return c.convertError(ctx, "delete", key, err)
	}
	if !resp.Succeeded {
		return mismatch("delete", key, version, resp)
	}
	return nil
}
