package dbnet

import (
	"fmt"
	"os"
	"testing"
)

func TestDevGeom(t *testing.T) {
	if os.Getenv("DBNET_GEOM") == "" {
		t.Skip()
	}
	fmt.Println(MinAreaRect([][2]float64{{0, 0}, {10, 0}, {10, 5}, {0, 5}}))
	fmt.Println(MinAreaRect([][2]float64{{0, 0}, {10, 5}}))
	pts := [][2]float64{{3, 1}, {9, 4}, {6, 10}, {0, 7}, {4, 5}, {5, 5}}
	c, s, a := MinAreaRect(pts)
	fmt.Println(c, s, a, BoxPoints(c, s, a))
	fmt.Println(BoxPoints([2]float64{50.5, 20.25}, [2]float64{30, 7}, 33.5))
	b := BoxPoints([2]float64{100, 100}, [2]float64{60, 20}, 30)
	fmt.Println(b, Unclip(b, 1.5))
	fmt.Println(Unclip([4][2]float64{{10, 10}, {50, 10}, {50, 30}, {10, 30}}, 1.5))
	fmt.Println(Unclip([4][2]float64{{float64(float32(10.7)), float64(float32(10.2))}, {float64(float32(50.9)), float64(float32(10.2))}, {float64(float32(50.9)), float64(float32(30.6))}, {float64(float32(10.7)), float64(float32(30.6))}}, 1.6))
}
