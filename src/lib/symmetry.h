/* symmetry.h - how far a picture is from looking the same turned a quarter
 * (known-image augmentation, docs/ROBUST.md "Pictures that look the same
 * turned a quarter"). */
#ifndef PHM_SYMMETRY_H
#define PHM_SYMMETRY_H

#include "phmatch.h"

/* Side of the grey thumbnail the test compares: half PDQ's working size,
 * so that the thin lines of line art average out instead of aliasing. */
#define PHM_SYM_SIDE 32

/* Below this, a picture's crops are ambiguous (phm__quarter_turn below):
 * on 360 clip arts of openclipart-png, 40 of 41 star polygons measured
 * 0.10-0.37 (a 7-pointed one 0.82), a cross in a circle and a grid of dots
 * 0.36-0.37, the next clip art (a flower) 0.48; the 212 photos, wallpapers, graphics and busy
 * textures of bench/devset.sh 0.57 and up, most 0.9-1.0. */
#define PHM_SYM_QUARTER 0.40

/* How far img is from looking the same turned a quarter: the root mean
 * square difference between its grey PHM_SYM_SIDE x PHM_SYM_SIDE thumbnail
 * (cell means of Rec. 601 luma; the picture squeezed to a square) and that
 * thumbnail turned 90 degrees (the nearer of the two ways), over what two
 * unrelated thumbnails of the same contrast differ by (sqrt 2 times its
 * standard deviation). 0: it turns onto itself; about 1: no likeness (a
 * photo; noise, whose thumbnail is nearly flat, too). A thumbnail of less
 * than one grey level of deviation (a flat picture), 1 or 3 channels
 * else, or NULL: 1. */
double phm__quarter_turn(const phm_image *img);

#endif
